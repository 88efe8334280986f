/** The page's link to its server: the token (from the URL's fragment, kept for the tab), JSON calls, live events. */
const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash)?.[1];
if (fromHash) {
  let value = fromHash;
  try {
    value = decodeURIComponent(fromHash);
  } catch {
    /* a malformed escape: keep it as written */
  }
  sessionStorage.setItem('taskq-token', value);
  history.replaceState(null, '', location.pathname + location.hash.replace(/[#&]?token=[^&]+/, '').replace(/^&/, '#'));
}
export const token = (): string => sessionStorage.getItem('taskq-token') ?? '';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: { ...(token() ? { authorization: `Bearer ${token()}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`, res.status);
  return body;
}

export interface LiveEvent {
  id: string;
  type: string;
  time: number;
  data: Record<string, unknown>;
}

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
let status: 'connecting' | 'live' | 'reconnecting' = 'connecting';
const statusListeners = new Set<(s: typeof status) => void>();

/** Live events from now on (one EventSource for the page; the browser resumes it with Last-Event-ID). */
export function onEvent(l: Listener): () => void {
  listeners.add(l);
  if (!source) {
    source = new EventSource(`/api/events?from=$${token() ? `&token=${encodeURIComponent(token())}` : ''}`);
    source.onopen = () => setStatus('live');
    source.onerror = () => setStatus('reconnecting');
    const types = ['task-sent', 'task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-progress', 'worker-online', 'worker-heartbeat', 'worker-offline', 'beat-fired', 'beat-leader', 'events-missed'];
    for (const t of types) source.addEventListener(t, (m) => {
      const e = JSON.parse((m as MessageEvent<string>).data) as LiveEvent;
      for (const fn of listeners) fn(e);
    });
  }
  return () => listeners.delete(l);
}

function setStatus(s: typeof status): void {
  status = s;
  for (const fn of statusListeners) fn(s);
}

export function onStatus(fn: (s: typeof status) => void): () => void {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}
