/**
 * A typed aria2 JSON-RPC client over npm `aria2` (which has no typings, leaves calls pending forever
 * when the socket closes, returns multicall results raw and does not reconnect). Every call has a
 * timeout; a multicall's results are unwrapped into values or errors; over WebSocket it hears aria2's
 * notifications (`downloadStart`, `downloadComplete`, `downloadError`, …: each carries only a gid) and
 * reconnects with backoff when the socket drops. The download stage and the web UI use it.
 */
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { ExitCode, TaskqError } from '../errors.js';

export interface Aria2Connection {
  host?: string;
  port: number;
  secret: string;
  /** Longest wait for one call (ms, default 5000). */
  timeoutMs?: number;
}

/** tellStatus fields (aria2 returns every number as a string). */
export interface Aria2Status {
  gid: string;
  status: 'active' | 'waiting' | 'paused' | 'error' | 'complete' | 'removed';
  totalLength: string;
  completedLength: string;
  downloadSpeed: string;
  errorCode?: string;
  errorMessage?: string;
  dir?: string;
  files?: Array<{ path: string; length: string; completedLength: string; uris: Array<{ uri: string; status: string }> }>;
}

export interface Aria2GlobalStat {
  downloadSpeed: string;
  uploadSpeed: string;
  numActive: string;
  numWaiting: string;
  numStopped: string;
}

/** An error aria2 answered with (its code and message), or a call that timed out. */
export class Aria2Error extends TaskqError {
  constructor(
    message: string,
    readonly aria2Code?: number,
  ) {
    super('TASKQ_ARIA2_ERROR', message, { exitCode: ExitCode.unavailable });
    this.name = 'Aria2Error';
  }
}

type Aria2Lib = new (options: Record<string, unknown>) => {
  socket: { readyState: number } | undefined;
  deferreds: Record<string, { reject: (err: Error) => void }>;
  open(): Promise<void>;
  close(): Promise<void>;
  call(method: string, ...params: unknown[]): Promise<unknown>;
  multicall(calls: unknown[][]): Promise<unknown[]>;
  on(event: string, fn: (...args: unknown[]) => void): void;
};

const NOTIFICATIONS = ['onDownloadStart', 'onDownloadPause', 'onDownloadStop', 'onDownloadComplete', 'onDownloadError', 'onBtDownloadComplete'];

/** Events: 'downloadStart' | 'downloadPause' | 'downloadStop' | 'downloadComplete' | 'downloadError' (gid), 'connected', 'disconnected'. */
export class Aria2Client extends EventEmitter {
  private readonly lib: InstanceType<Aria2Lib>;
  private readonly timeoutMs: number;
  private closing = false;
  private reconnects = 0;

  constructor(private readonly conn: Aria2Connection) {
    super();
    const Aria2 = createRequire(import.meta.url)('aria2') as Aria2Lib;
    this.lib = new Aria2({ host: conn.host ?? '127.0.0.1', port: conn.port, secret: conn.secret, secure: false, path: '/jsonrpc' });
    this.timeoutMs = conn.timeoutMs ?? 5000;
    // Socket errors surface as failed calls and reconnects; an 'error' event nobody hears would crash the process.
    this.lib.on('error', () => {});
    for (const n of NOTIFICATIONS) this.lib.on(n, (params: unknown) => this.emit(n.replace(/^on(\w)/, (_, c: string) => c.toLowerCase()), (params as Array<{ gid: string }>)?.[0]?.gid));
    this.lib.on('close', () => {
      // Calls waiting on the socket would wait forever: fail them now.
      for (const [id, d] of Object.entries(this.lib.deferreds)) {
        d.reject(new Aria2Error('aria2 closed the connection before answering'));
        delete this.lib.deferreds[id];
      }
      this.emit('disconnected');
      if (!this.closing) this.reconnect();
    });
  }

  /** Opens the WebSocket (notifications; calls go over it too). Without it, calls use HTTP. */
  async open(): Promise<void> {
    this.closing = false;
    try {
      await this.withTimeout(this.lib.open(), 'opening the WebSocket');
    } catch (err) {
      throw asAria2Error(err); // the library rejects with the socket's error event, not an Error
    }
    this.reconnects = 0;
    this.emit('connected');
  }

  private reconnect(): void {
    const delay = Math.min(100 * 2 ** this.reconnects++, 5000);
    setTimeout(() => {
      if (this.closing) return;
      this.open().catch(() => this.reconnect());
    }, delay).unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    // The library waits for a 'close' event: only a socket still open (or opening) sends one.
    const state = this.lib.socket?.readyState;
    if (state === 0 || state === 1) await this.withTimeout(this.lib.close(), 'closing the WebSocket').catch(() => undefined);
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Aria2Error(`aria2 at ${this.conn.host ?? '127.0.0.1'}:${this.conn.port} did not answer ${what} within ${this.timeoutMs} ms (is aria2c running, and the secret right?)`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /** One RPC call (`aria2.` is added to bare names). */
  async call<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
    try {
      return (await this.withTimeout(this.lib.call(method, ...params), method)) as T;
    } catch (err) {
      throw asAria2Error(err);
    }
  }

  /** Several calls in one round trip; each result is a value or an Aria2Error. */
  async multicall(calls: Array<[method: string, ...params: unknown[]]>): Promise<Array<unknown | Aria2Error>> {
    let raw: unknown[];
    try {
      raw = await this.withTimeout(this.lib.multicall(calls), 'system.multicall');
    } catch (err) {
      throw asAria2Error(err);
    }
    // Each entry is [value] on success, or {code, message} on failure.
    return raw.map((r) => (Array.isArray(r) ? r[0] : new Aria2Error(String((r as { message?: unknown })?.message ?? 'failed'), Number((r as { code?: unknown })?.code))));
  }

  addUri(uris: string[], options: Record<string, string>, position?: number): Promise<string> {
    return position === undefined ? this.call('addUri', uris, options) : this.call('addUri', uris, options, position);
  }

  tellStatus(gid: string, keys?: string[]): Promise<Aria2Status> {
    return keys ? this.call('tellStatus', gid, keys) : this.call('tellStatus', gid);
  }

  tellActive(keys?: string[]): Promise<Aria2Status[]> {
    return keys ? this.call('tellActive', keys) : this.call('tellActive');
  }

  getGlobalStat(): Promise<Aria2GlobalStat> {
    return this.call('getGlobalStat');
  }

  getVersion(): Promise<{ version: string; enabledFeatures: string[] }> {
    return this.call('getVersion');
  }

  remove(gid: string): Promise<string> {
    return this.call('forceRemove', gid);
  }

  removeDownloadResult(gid: string): Promise<string> {
    return this.call('removeDownloadResult', gid);
  }

  saveSession(): Promise<string> {
    return this.call('saveSession');
  }
}

function asAria2Error(err: unknown): Aria2Error {
  if (err instanceof Aria2Error) return err;
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown }; error?: { code?: unknown } };
  const message = String(e?.message ?? err);
  if (/Unauthorized/i.test(message)) return new Aria2Error('aria2 refused the RPC secret (Unauthorized): the secret does not match aria2c\'s --rpc-secret', Number(e.code));
  // Node's fetch says "fetch failed" and puts the reason in `cause`.
  const reason = `${message} ${String(e?.cause?.code ?? e?.error?.code ?? '')} ${String(e?.cause?.message ?? '')}`;
  if (/ECONNREFUSED|ECONNRESET/.test(reason)) return new Aria2Error(`aria2 is not listening (${reason.trim()}): start aria2c with --enable-rpc, or let the download node start it`);
  return new Aria2Error(`aria2: ${message}`, typeof e.code === 'number' ? e.code : undefined);
}
