/**
 * Remote control and inspection, on the wire. A request is PUBLISHed on `<prefix>:control`:
 *   {"op": "call", "v": 1, "id": "<uuid>", "method": "active", "args": {…},
 *    "destination": ["w1@host"] | null, "replyTo": "<prefix>:reply:<uuid>"}
 * Each node it is for RPUSHes one reply to `replyTo` (a list, so no reply is missed between the
 * publish and the caller's first read; it expires after a minute):
 *   {"v": 1, "id": "<uuid>", "node": "w1@host", "ok": true, "result": …}
 *   {"v": 1, "id": "<uuid>", "node": "w1@host", "ok": false, "error": {"code", "message"}}
 * A node ignores requests of another version; a caller ignores replies that do not decode, are of
 * another version, or answer another request. Pure: building and checking messages only.
 */

/** The protocol version; a change that old peers would misread bumps it. */
export const CONTROL_VERSION = 1;

/** What `taskq inspect` asks. */
export const INSPECT_METHODS = ['ping', 'stats', 'active', 'reserved', 'scheduled', 'registered', 'active_queues', 'revoked', 'conf'] as const;
export type InspectMethod = (typeof INSPECT_METHODS)[number];

/** What `taskq control` tells. */
export const CONTROL_METHODS = ['shutdown', 'enable_events', 'disable_events', 'pool_grow', 'pool_shrink', 'autoscale', 'add_consumer', 'cancel_consumer', 'rate_limit', 'time_limit', 'revoke'] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

export type Method = InspectMethod | ControlMethod;

export interface ControlRequest {
  op: 'call';
  v: number;
  id: string;
  method: Method;
  args: Record<string, unknown>;
  /** Node names it is for; null = every node. */
  destination: string[] | null;
  replyTo: string;
}

export interface ReplyError {
  code: string;
  message: string;
}

export type ControlReply<T = unknown> =
  | { v: number; id: string; node: string; ok: true; result: T }
  | { v: number; id: string; node: string; ok: false; error: ReplyError };

const METHODS = new Set<string>([...INSPECT_METHODS, ...CONTROL_METHODS]);

/** The request in a control message, or why it is not one a node of this version can serve. */
export function parseRequest(raw: unknown): { request: ControlRequest } | { problem: string } {
  const r = raw as Partial<ControlRequest>;
  if (!r || typeof r !== 'object' || r.op !== 'call') return { problem: 'not a call' };
  if (r.v !== CONTROL_VERSION) return { problem: `protocol version ${JSON.stringify(r.v)} (this node speaks ${CONTROL_VERSION})` };
  if (typeof r.id !== 'string' || typeof r.replyTo !== 'string' || typeof r.method !== 'string') return { problem: 'no id, method or replyTo' };
  if (!METHODS.has(r.method)) return { problem: `unknown method ${JSON.stringify(r.method)}` };
  const destination = Array.isArray(r.destination) && r.destination.every((d) => typeof d === 'string') ? r.destination : null;
  const args = r.args && typeof r.args === 'object' && !Array.isArray(r.args) ? r.args : {};
  return { request: { op: 'call', v: r.v, id: r.id, method: r.method, args, destination, replyTo: r.replyTo } };
}

/** A reply to request `id`, or undefined if `text` is not one (garbage, another version, another request). */
export function parseReply(text: string, id: string): ControlReply | undefined {
  let r: Partial<ControlReply> & { error?: unknown };
  try {
    r = JSON.parse(text) as typeof r;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || r.v !== CONTROL_VERSION || r.id !== id || typeof r.node !== 'string' || typeof r.ok !== 'boolean') return undefined;
  if (r.ok) return { v: r.v, id, node: r.node, ok: true, result: (r as { result?: unknown }).result };
  const e = r.error as Partial<ReplyError> | undefined;
  return { v: r.v, id, node: r.node, ok: false, error: { code: String(e?.code ?? 'TASKQ_ERROR'), message: String(e?.message ?? 'failed') } };
}

/** A task a node runs or holds (inspect active / reserved / scheduled). */
export interface TaskInfo {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  /** When it started on the node (running tasks), ms. */
  startedAt?: number;
  /** Arguments as sent (absent if the record cannot be decoded). */
  args?: unknown[];
}

/** inspect stats: one node's process, pool and counters. */
export interface NodeStats {
  node: string;
  pid: number;
  hostname: string;
  uptimeMs: number;
  broker: string;
  /** `prefetch`: jobs held beyond the slots at most, or 'adaptive' (as many as slots while tasks are short). */
  pool: { kind: string; concurrency: number; autoscale?: { min: number; max: number } | undefined; prefetch: number | 'adaptive' };
  queues: string[];
  /** Since start: active, processed, succeeded, failed, retried, lost. */
  counts: Record<string, number>;
  /** Outcomes recorded per task name (Celery's `total`). */
  totals: Record<string, number>;
  /** Why the node takes no work, if it does not. */
  problem?: string | undefined;
  /** Whether the node writes task events now (-E, enable_events). */
  taskEvents?: boolean;
  rusage: { userCpuMs: number; systemCpuMs: number; maxRssKb: number };
  rssKb: number;
}

/** What each inspect method answers, per node. */
export interface InspectResults {
  ping: 'pong';
  stats: NodeStats;
  active: TaskInfo[];
  reserved: TaskInfo[];
  scheduled: TaskInfo[];
  registered: string[];
  active_queues: string[];
  revoked: string[];
  conf: Record<string, unknown>;
}

/** What a control method answers, per node (Celery's `{"ok": "…"}`). */
export interface ControlAck {
  ok: string;
}
