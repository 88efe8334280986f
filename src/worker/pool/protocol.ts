/**
 * Messages between a worker node and its pool children (threads or processes). JSON only; `type`
 * values are wire format: never rename.
 *
 * parent → child
 *   {type: 'run', id, task, args, kwargs?, attempt, queue, node}   run one job (args end with kwargs when there are any)
 *   {type: 'abort', id, reason: {name, message}}          abort the job's ctx.signal (soft limit)
 *   {type: 'exit'}                                        finish and exit (recycling, shutdown)
 * child → parent
 *   {type: 'ready', pid}                                  the app is loaded
 *   {type: 'fatal', message}                              the app could not be loaded
 *   {type: 'progress', id, value, state?}                 ctx.progress(value), ctx.updateState(state, value)
 *   {type: 'done', id, ok: true, json, memoryKb}          the result, already serialised
 *   {type: 'done', id, ok: false, error, memoryKb}        the error thrown (name, message, stack, code?, countdownMs?)
 */
export interface PoolInit {
  appModule: string;
  node: string;
  index: number;
  logLevel: string;
  logfile: string | undefined;
  /** Write Celery-style lines to stderr (a terminal) instead of JSON. */
  humanLogs: boolean;
}

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** TaskqError code, when the error was one. */
  code?: string;
  /** Set for ctx.retry(): the countdown asked for (ms), or null for the default. */
  countdownMs?: number | null;
  /** ctx.retry({ maxRetries }). */
  maxRetries?: number;
  /** ctx.retry({ exc }): the error behind the request. */
  cause?: { name: string; message: string; stack?: string };
}

export type ToChild =
  | { type: 'run'; id: string; task: string; args: unknown[]; kwargs?: Record<string, unknown>; attempt: number; queue: string; node: string }
  | { type: 'abort'; id: string; reason: { name: string; message: string } }
  | { type: 'exit' }
  /** Log files were rotated: open them again (USR2 on the node). */
  | { type: 'reopen-logs' };

export type FromChild =
  | { type: 'ready'; pid: number }
  | { type: 'fatal'; message: string }
  | { type: 'progress'; id: string; value: unknown; state?: string }
  | { type: 'done'; id: string; ok: true; json: string; memoryKb: number }
  | { type: 'done'; id: string; ok: false; error: WireError; memoryKb: number };
