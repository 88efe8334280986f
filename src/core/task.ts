/** A registered task: its handler, its options, and the ways to send it. */
import type { AsyncResult } from './async-result.js';
import type { TaskContext } from './context.js';
import { OptionError, show, TaskqError } from '../errors.js';
import type { BackoffOption, BackoffSpec, ErrorClass } from './retry-policy.js';
import { celeryBackoff, normalizeBackoff, normalizeRetries } from './retry-policy.js';
import type { RetryPolicyOptions } from './publish-policy.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import { refuseUnknownOptions } from './option-names.js';
import { callKwargs, Group, Signature, type CanvasSender, type SignatureOptions } from './canvas/canvas.js';

export interface TaskOptions {
  /** Queue this task goes to (beats the app's routes; the call's `queue` beats it). */
  queue?: string;
  /** Pass a {@link TaskContext} as the first argument. */
  bind?: boolean;
  /** Retries after a failure (default 0; 3 with `autoretryFor`; `ctx.retry()` alone allows 3). */
  retries?: number;
  /** Celery's name for `retries` (`max_retries`). */
  maxRetries?: number;
  /** Delay between retries: ms (fixed) or `{type: 'exponential', delayMs, maxMs, jitter}`. */
  backoff?: BackoffOption;
  /** Celery's `retry_backoff`: exponential backoff from 1 s (true) or from this many seconds. */
  retryBackoff?: boolean | number;
  /** Celery's `retry_backoff_max`: the longest backoff, seconds (default 600). */
  retryBackoffMax?: number;
  /** Celery's `retry_jitter`: a random delay up to the backoff (default true). */
  retryJitter?: boolean;
  /** Retry only errors of these classes (matched by `instanceof` or by name); alone, it allows 3 retries (Celery's `autoretry_for`). */
  autoretryFor?: readonly ErrorClass[];
  /** Do not store results of this task. */
  ignoreResult?: boolean;
  /**
   * Hard time limit (ms): the job fails with TimeLimitExceeded. In the async pool code that ignores
   * `ctx.signal` cannot be stopped; it is reported and its slot stays taken until it ends.
   */
  timeLimitMs?: number;
  /** Soft time limit (ms): `ctx.signal` aborts with SoftTimeLimitExceeded so the task can clean up. */
  softTimeLimitMs?: number;
  /** Most starts per second / minute / hour across all nodes: `'10/s'`, `'100/m'`, `'5/h'`. */
  rateLimit?: RateLimit;
  /** `high` jobs of a queue are taken before `normal` (default) ones, `low` last. */
  priority?: Priority;
  /**
   * The task runs until it is stopped (a capture, a stream reader): a node's warm shutdown aborts it
   * at once (`ctx.signal`, WorkerShutdown; it goes back to its queue for the next node) instead of
   * waiting the shutdown timeout for an end that never comes.
   */
  untilStopped?: boolean;
  /**
   * Acknowledge after the task ran (default true: at least once — a job whose node dies runs again
   * elsewhere). `false` is Celery's early acknowledgement, at most once: a job whose node dies, or
   * that a warm shutdown cuts short, is failed (WorkerLostError / WorkerShutdown), never run twice.
   * Written into the job by senders that know the task; `app.send` by name takes it as a call option.
   */
  acksLate?: boolean;
  /**
   * When a pool child dies under the job (WorkerLostError): give the job back to its queue instead
   * of failing it (Celery's `reject_on_worker_lost`; with acksLate). Bounded like stalls: past the
   * app's `maxStalls` losses it fails.
   */
  rejectOnWorkerLost?: boolean;
}

/** Priority levels of a queue, served high → normal → low. Wire values: never rename. */
export type Priority = 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

export function normalizePriority(value: unknown, what: string): Priority | undefined {
  if (value === undefined) return undefined;
  if (!PRIORITIES.includes(value as Priority)) throw new OptionError(`${what} must be "high", "normal" or "low", got ${show(value)}`);
  return value as Priority;
}

/** Options of one call (Celery's apply_async options). */
export interface ApplyOptions {
  /** Run no earlier than this many seconds from now. */
  countdown?: number;
  /** Run no earlier than this time (Date, ms since epoch, or ISO text). */
  eta?: Date | number | string;
  /** Never start after this: seconds from now, or a Date. */
  expires?: number | Date;
  /** Queue, overriding the task's and the routes. */
  queue?: string;
  /** Your own id; sending an id that is already queued is a no-op returning the same result. */
  jobId?: string;
  /** Retries for this call (overrides the task's). */
  retries?: number;
  /** Backoff for this call (overrides the task's). */
  backoff?: BackoffOption;
  /** Do not store the result of this call. */
  ignoreResult?: boolean;
  /** Hard time limit for this call (ms), overriding the task's. */
  timeLimitMs?: number;
  /** Soft time limit for this call (ms), overriding the task's. */
  softTimeLimitMs?: number;
  /** Priority of this call within its queue (overrides the task's). */
  priority?: Priority;
  /** `false`: acknowledge early, at most once (overrides the task's; see TaskOptions.acksLate). */
  acksLate?: boolean;
  /** How this send waits out a broker outage (overrides the app's publishRetryPolicy; Celery's retry_policy). */
  retryPolicy?: RetryPolicyOptions;
}

export type Handler<A extends unknown[], R> = (...args: A) => R | Promise<R>;
export type BoundHandler<A extends unknown[], R> = (ctx: TaskContext, ...args: A) => R | Promise<R>;

/** Normalised task options the worker uses. */
export interface TaskDefinition {
  name: string;
  queue: string | undefined;
  bind: boolean;
  retries: number | undefined;
  backoff: BackoffSpec | undefined;
  autoretryFor: readonly ErrorClass[];
  ignoreResult: boolean;
  timeLimitMs: number | undefined;
  softTimeLimitMs: number | undefined;
  /** Interval between two starts (ms) from `rateLimit`, cluster-wide. */
  rateIntervalMs: number | undefined;
  priority: Priority | undefined;
  untilStopped: boolean;
  acksLate: boolean;
  rejectOnWorkerLost: boolean;
  handler: (...args: unknown[]) => unknown;
}

/** Validates a time limit option (ms): a positive finite number. */
export function normalizeTimeLimit(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OptionError(`${what} must be a positive number of milliseconds, got ${show(value)}`);
  }
  return value;
}

export const TASK_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:\-]{0,199}$/;

/** Throws TASKQ_TASK_NAME_INVALID (exit 64) unless `name` is a valid task name; `where` says who asked. */
export function assertTaskName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || !TASK_NAME_PATTERN.test(name)) {
    throw new TaskqError(
      'TASKQ_TASK_NAME_INVALID',
      `${where}: invalid task name ${JSON.stringify(name)}: use letters, digits and _ . : - (start with a letter or _), at most 200 characters`,
      { exitCode: 64 },
    );
  }
}

function retriesOf(options: TaskOptions, where: string): number | undefined {
  const retries = normalizeRetries(options.retries, where);
  const max = normalizeRetries(options.maxRetries, `${where} maxRetries:`);
  if (retries !== undefined && max !== undefined && retries !== max) throw new OptionError(`${where} retries (${retries}) and maxRetries (${max}) disagree; give one`);
  return retries ?? max;
}

function backoffOf(options: TaskOptions, where: string): BackoffSpec | undefined {
  const celery = celeryBackoff(options, where);
  if (celery && options.backoff !== undefined) throw new OptionError(`${where} give backoff or retryBackoff, not both`);
  return celery ?? normalizeBackoff(options.backoff, where);
}

/** What app.task's options take (TaskOptions). */
const TASK_OPTION_NAMES: ReadonlySet<string> = new Set(['queue', 'bind', 'retries', 'maxRetries', 'backoff', 'retryBackoff', 'retryBackoffMax', 'retryJitter', 'autoretryFor', 'ignoreResult', 'timeLimitMs', 'softTimeLimitMs', 'rateLimit', 'priority', 'untilStopped', 'acksLate', 'rejectOnWorkerLost']);

export function defineTask(name: string, handler: (...args: never[]) => unknown, options: TaskOptions = {}): TaskDefinition {
  assertTaskName(name, 'app.task');
  if (typeof handler !== 'function') throw new OptionError(`task ${name}: the handler must be a function, got ${typeof handler}`);
  const where = `task ${name}:`;
  refuseUnknownOptions(options, TASK_OPTION_NAMES, `app.task(${JSON.stringify(name)})`);
  if (options.autoretryFor !== undefined && !Array.isArray(options.autoretryFor)) {
    throw new OptionError(`${where} autoretryFor must be an array of error classes`);
  }
  return {
    name,
    queue: options.queue,
    bind: options.bind ?? false,
    retries: retriesOf(options, where),
    backoff: backoffOf(options, where),
    autoretryFor: options.autoretryFor ?? [],
    ignoreResult: options.ignoreResult ?? false,
    timeLimitMs: normalizeTimeLimit(options.timeLimitMs, `${where} timeLimitMs`),
    softTimeLimitMs: normalizeTimeLimit(options.softTimeLimitMs, `${where} softTimeLimitMs`),
    rateIntervalMs: parseRateLimit(options.rateLimit, where),
    priority: normalizePriority(options.priority, `${where} priority`),
    untilStopped: options.untilStopped ?? false,
    acksLate: options.acksLate ?? true,
    rejectOnWorkerLost: options.rejectOnWorkerLost ?? false,
    handler: handler as (...args: unknown[]) => unknown,
  };
}

/** What an app gives a Task so it can send itself. */
export interface TaskSender extends CanvasSender {
  dispatch(def: TaskDefinition, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<AsyncResult>;
  dispatchBulk(def: TaskDefinition, argsList: unknown[][], options: ApplyOptions): Promise<AsyncResult[]>;
}

export class Task<A extends unknown[] = unknown[], R = unknown> {
  constructor(
    readonly definition: TaskDefinition,
    private readonly sender: TaskSender,
  ) {}

  get name(): string {
    return this.definition.name;
  }

  /** Sends the task with these arguments (`applyAsync(args)`). */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Sends the task with positional and keyword arguments and call options, in Celery's order
   * (`apply_async(args, kwargs, **options)`). Keyword arguments reach the handler as one more
   * argument after the positional ones (an object), and a bound task's `ctx.kwargs`.
   */
  applyAsync(args: A, kwargs?: Record<string, unknown> | null, options?: SignatureOptions): Promise<AsyncResult<R>> {
    let kw: Record<string, unknown>;
    try {
      kw = callKwargs(`${this.name}.applyAsync`, kwargs, options);
    } catch (err) {
      return Promise.reject(err);
    }
    const opts = options ?? {};
    // Callbacks make it a canvas: sent with its links in one script call.
    if (opts.link !== undefined || opts.linkError !== undefined) return this.s(...args).applyAsync([], kw, opts);
    return this.sender.dispatch(this.definition, args, kw, opts) as Promise<AsyncResult<R>>;
  }

  /** Sends many calls in one pipelined round trip; results come back in the same order. */
  applyBulk(argsList: A[], options: ApplyOptions = {}): Promise<AsyncResult<R>[]> {
    if (options.jobId !== undefined) throw new OptionError('applyBulk: jobId cannot be shared by several calls');
    return this.sender.dispatchBulk(this.definition, argsList, options) as Promise<AsyncResult<R>[]>;
  }

  /**
   * A signature: this task with some arguments, for a canvas (Celery's `.s()`). In a chain the
   * previous step's value is prepended to these arguments.
   */
  s(...args: unknown[]): Signature<R> {
    return new Signature<R>(this.sender, this.name, args);
  }

  /** An immutable signature: the previous step's value is not prepended (Celery's `.si()`). */
  si(...args: unknown[]): Signature<R> {
    return new Signature<R>(this.sender, this.name, args, {}, {}, true);
  }

  /** A signature with keyword arguments and options (Celery's `.signature(args, kwargs, options)`). */
  signature(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: SignatureOptions = {}): Signature<R> {
    return new Signature<R>(this.sender, this.name, args, kwargs, options);
  }

  /** A group of this task over each argument list (Celery's `.map()` / `.starmap()`, as one group). */
  map(argsList: unknown[][]): Group<R> {
    if (!Array.isArray(argsList)) throw new OptionError(`${this.name}.map: expected an array of argument arrays`);
    return new Group<R>(this.sender, argsList.map((args) => this.s(...(args as unknown[]))));
  }

  /** Runs the handler here, now, without a broker (tests; like Celery's `apply()`). Not for bound tasks. */
  async run(...args: A): Promise<R> {
    if (this.definition.bind) throw new OptionError(`task ${this.name} is bound: run it through a worker`);
    return (await this.definition.handler(...args)) as R;
  }
}
