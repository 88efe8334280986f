/** What a task declared with `bind: true` receives as its first argument (Celery's `self.request`). */
import type { Logger } from 'pino';

export interface RetryOptions {
  /** Seconds before the next attempt (default: the task's backoff, else 1 s). */
  countdown?: number;
  /** When the next attempt runs (Date, ms since epoch or ISO text); not with `countdown`. */
  eta?: Date | number | string;
  /** Most retries for this task run, beating the task's `retries` (Celery's `max_retries`). */
  maxRetries?: number;
  /**
   * The error that caused the retry (Celery's `exc`): recorded with the RETRY state, and the error the
   * task fails with once no retry is left (without it: MaxRetriesExceededError).
   */
  exc?: Error;
  /** Same as `exc` (the name taskq used first). */
  error?: Error;
}

/**
 * What a bound task (`bind: true`) gets first. Pass it on as it is: its data fields (id, name,
 * attempt, kwargs, queue, node) are its own, its signal, log and methods come with the object, so a
 * spread (`{ ...ctx }`) or JSON copy holds the data only.
 */
export interface TaskContext {
  /** Task / job id. */
  readonly id: string;
  /** Registered task name. */
  readonly name: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** The call's keyword arguments (`{}` when none; they also reach the handler after the positional ones). */
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** Queue the job came from. */
  readonly queue: string;
  /** Worker node running it. */
  readonly node: string;
  /** Aborts when the job must stop: revoked, time limit, or the worker shutting down hard. */
  readonly signal: AbortSignal;
  /** Logger bound to {task, jobId, attempt}. */
  readonly log: Logger;
  /** Publishes a progress value; producers see it through `AsyncResult.progress()`. */
  progress(value: unknown): Promise<void>;
  /**
   * Sets a custom state while it runs (Celery's `update_state`): `AsyncResult.state()` reads `state`
   * (e.g. 'PROGRESS'), `result()` and `progress()` read `meta`. Upper-case letters, digits and _; not
   * one of Celery's own states (a task ends by returning, throwing or `ctx.retry()`).
   */
  updateState(state: string, meta?: unknown): Promise<void>;
  /** Asks for another attempt (throws; `throw ctx.retry()` reads well too). */
  retry(options?: RetryOptions): never;
}
