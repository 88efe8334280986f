/**
 * The job record: what a producer stores in `<prefix>:<queue>:jobs[id]` and a worker decodes.
 * The outer shape `{data, options, status}` is bee-queue's, so bee-queue's Job.fromData reads it.
 * `stalls` comes first, always: the stall-check script bumps it by string surgery, which is exact,
 * where re-encoding the record in Lua's cjson would alter arguments (`[]` → `{}`, big numbers).
 * `options` comes next and `data` (with the caller's arguments) after it, so scripts that read an
 * option from the text find the real one first: arguments cannot pose as options.
 *
 *   stalls           number    times the job was re-delivered after its worker vanished
 *   data.task        string    registered task name
 *   data.args        array     positional arguments (JSON)
 *   data.kwargs      object?   keyword arguments (JSON)
 *   data.chain       array?    canvas steps after this one (core/canvas/frozen.ts), in order
 *   data.link        array?    canvases applied with its value once it succeeds
 *   data.linkError   array?    canvases applied with {id, task, error} once it fails for good
 *   data.chord       object?   {id, i}: its value is member i of chord id
 *   options.v        1         format version
 *   options.timestamp number   ms when first sent
 *   options.attempt  number    1 for the first run, +1 per retry
 *   options.retries  number?   max retries asked at the call site (overrides the task's)
 *   options.backoff  object?   backoff asked at the call site (see retry-policy.ts)
 *   options.eta      number?   ms the job was scheduled for (countdown / eta)
 *   options.expires  number?   ms after which the job must not start
 *   options.ignoreResult bool? do not store the result
 *   options.timeLimitMs number? hard time limit asked at the call site
 *   options.softTimeLimitMs number? soft time limit asked at the call site
 *   options.priority  string?   'high' | 'low' (absent: normal); every return to `waiting` keeps it
 *   options.revoked   true?     set by revoke.lua: the job must never start
 *   options.acksLate  false?    acknowledged early (at most once): never re-delivered, failed instead
 *   options.lastError object?  {name, message, stack} of the latest failed attempt
 *   status           string?   'retrying' | 'failed' once an attempt failed
 *
 * The id and the queue are where the record is stored (`<prefix>:<queue>:jobs[id]`), so the record
 * does not repeat them (records written before may carry `options.id`, `options.queue`,
 * `options.stacktraces` and `status: 'created'`; they decode the same).
 */
import { TaskqError } from '../errors.js';
/** How a retry waits (core/retry-policy.ts does the math): stored in the record as given. */
export type BackoffSpec =
  | { type: 'fixed'; delayMs: number }
  | { type: 'exponential'; delayMs: number; maxMs?: number; jitter?: boolean };

export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

export interface JobOptions {
  v: 1;
  /** Older records only. */
  id?: string;
  /** Older records only. */
  queue?: string;
  timestamp: number;
  attempt: number;
  retries?: number;
  backoff?: BackoffSpec;
  eta?: number;
  expires?: number;
  ignoreResult?: boolean;
  timeLimitMs?: number;
  softTimeLimitMs?: number;
  priority?: 'high' | 'low';
  revoked?: boolean;
  /** false: acknowledged early — never re-delivered (stalls.lua fails it instead). */
  acksLate?: false;
  lastError?: ErrorInfo;
  /** Older records only. */
  stacktraces?: string[];
}

/** What `data` carries after the arguments when set: keyword arguments and the canvas around the job (core/canvas/frozen.ts). */
export interface CanvasData {
  task: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
  chain?: unknown[];
  link?: unknown[];
  linkError?: unknown[];
  chord?: { id: string; i: number };
}

export interface JobRecord {
  stalls: number;
  data: CanvasData;
  options: JobOptions;
  status?: 'created' | 'retrying' | 'failed';
}

function invalid(id: string, queue: string, why: string, cause?: unknown): TaskqError {
  return new TaskqError(
    'TASKQ_MESSAGE_INVALID',
    `job ${id} in queue ${queue} has an undecodable payload: ${why}. ` +
      'It was not sent by a compatible taskq producer; it is failed and kept in the dead-letter list.',
    { cause, exitCode: 65 },
  );
}

/** The task name of a stored record, without validating the rest; undefined if it has none. */
export function taskNameOf(raw: string): string | undefined {
  try {
    const name = (JSON.parse(raw) as { data?: { task?: unknown } }).data?.task;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes and validates a stored job record; throws TASKQ_MESSAGE_INVALID naming the defect. */
export function decodeJobRecord(raw: string, id: string, queue: string): JobRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw invalid(id, queue, `not JSON (${(cause as Error).message})`, cause);
  }
  if (!parsed || typeof parsed !== 'object') throw invalid(id, queue, 'not an object');
  const rec = parsed as Partial<JobRecord>;
  if (!rec.data || typeof rec.data !== 'object') throw invalid(id, queue, 'no "data" object');
  if (typeof rec.data.task !== 'string' || rec.data.task === '') throw invalid(id, queue, 'no task name');
  if (!Array.isArray(rec.data.args)) throw invalid(id, queue, '"data.args" is not an array');
  const kwargs = rec.data.kwargs;
  if (kwargs !== undefined && (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs))) throw invalid(id, queue, '"data.kwargs" is not an object');
  if (!rec.options || typeof rec.options !== 'object') throw invalid(id, queue, 'no "options" object');
  if (rec.options.v !== 1) throw invalid(id, queue, `unknown format version ${JSON.stringify(rec.options.v)}`);
  if (!Number.isInteger(rec.options.attempt) || (rec.options.attempt as number) < 1) {
    throw invalid(id, queue, '"options.attempt" is not a positive integer');
  }
  if (!Number.isInteger(rec.stalls)) throw invalid(id, queue, '"stalls" is not an integer');
  return rec as JobRecord;
}

/** Encodes a record: `stalls` first (the stall check relies on it), then `options`, then `data`. */
export function encodeJobRecord(rec: JobRecord): string {
  return JSON.stringify({ stalls: rec.stalls, options: rec.options, data: rec.data, status: rec.status });
}

/** Best-effort task name of a record that failed to decode, for events and results. */
export function peekTaskName(raw: string): string {
  const m = /,"data":\{"task":"([^"\\]{1,200})"/.exec(raw) ?? /"task"\s*:\s*"([^"\\]{1,200})"/.exec(raw);
  return m?.[1] ?? '<undecodable>';
}

export function errorInfo(err: Error): ErrorInfo {
  // `class Flaky extends Error {}` keeps the name "Error": its class's name says more (as Celery shows it).
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  const name = err.name && err.name !== 'Error' ? err.name : typeof ctor === 'string' && ctor !== '' ? ctor : err.name || 'Error';
  const info: ErrorInfo = { name, message: err.message };
  if (err.stack) info.stack = err.stack;
  return info;
}
