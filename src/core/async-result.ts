/**
 * A handle on a task's outcome, as in Celery. It works from any process that can reach the broker:
 * `app.result(id)` rebuilds one from an id.
 */
import { defaults } from '../defaults.js';
import { ResultTimeoutError, TaskFailedError, TaskRevokedError, TaskqError } from '../errors.js';
import type { ResultRecord } from './result-record.js';
import type { ResultStore, RevokeResult } from './result-store.js';
import type { AppConfig } from './config.js';
import { isReadyState, type TaskState } from './states.js';

export interface GetOptions {
  /** Give up after this many ms with ResultTimeoutError (code TASKQ_RESULT_TIMEOUT). 0 = wait forever. */
  timeout?: number;
  /** Reject with the task's error on FAILURE/REVOKED (default). With false, resolve with the error. */
  propagate?: boolean;
  /** Stop waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

export class AsyncResult<T = unknown> {
  constructor(
    /** The task id. */
    readonly id: string,
    private readonly store: ResultStore,
    /** The task name, when known to this process. */
    readonly taskName?: string,
    private readonly ignoreResult = false,
    private readonly config?: AppConfig,
  ) {}

  /**
   * Revokes the task: if it has not started it never will (nodes started later honour it too); with
   * `terminate: true` a running task is stopped — its `ctx.signal` aborts with a `Revoked` reason
   * (the async pool cannot stop code that ignores the signal; it is recorded REVOKED when it ends).
   */
  revoke(options: { terminate?: boolean } = {}): Promise<RevokeResult> {
    if (!this.config) throw new TaskqError('TASKQ_CLOSED', 'this result handle cannot revoke (no app)', { exitCode: 70 });
    return this.store.revoke(this.id, { ...options, taskName: this.taskName }, this.config);
  }

  /** The full stored record (state, result or error, progress, node, timings), or undefined if PENDING. */
  info(): Promise<ResultRecord | undefined> {
    return this.store.read(this.id);
  }

  /** PENDING (unknown or waiting), STARTED, RETRY, SUCCESS, FAILURE or REVOKED — or a custom state the task set with ctx.updateState while it runs. */
  async state(): Promise<TaskState | (string & {})> {
    const record = await this.info();
    return (record?.state === 'STARTED' && record.custom) || (record?.state ?? 'PENDING');
  }

  /** True once the task succeeded, failed for good, or was revoked. */
  async ready(): Promise<boolean> {
    return isReadyState((await this.info())?.state ?? 'PENDING');
  }

  /** The last value the task passed to `ctx.progress()`. */
  async progress(): Promise<unknown> {
    return (await this.info())?.progress;
  }

  /**
   * Waits for the task and returns its value. Rejects with {@link TaskFailedError} (carrying the
   * remote error name and stack) on FAILURE, {@link TaskRevokedError} on REVOKED, and
   * {@link ResultTimeoutError} after `timeout` ms.
   */
  async get(options: GetOptions = {}): Promise<T> {
    if (this.ignoreResult) {
      throw new TaskqError(
        'TASKQ_RESULT_DISABLED',
        `task ${this.taskName}[${this.id}] has ignoreResult set: its result is never stored, so get() cannot wait for it`,
        { exitCode: 64 },
      );
    }
    const timeout = options.timeout ?? defaults.resultWaitMs;
    const { record, timedOut } = await this.store.waitReady(this.id, timeout, options.signal);
    if (options.signal?.aborted) throw options.signal.reason;
    if (timedOut || !record) throw new ResultTimeoutError(this.id, timeout, record?.state ?? 'PENDING');
    const propagate = options.propagate ?? true;
    if (record.state === 'SUCCESS') return record.result as T;
    const err = this.errorOf(record);
    if (propagate) throw err;
    return err as T;
  }

  private errorOf(record: ResultRecord): TaskFailedError | TaskRevokedError {
    return record.state === 'REVOKED'
      ? new TaskRevokedError(this.id, record.reason ?? 'revoked')
      : new TaskFailedError({
          taskId: this.id,
          taskName: record.task,
          name: record.error?.name ?? 'Error',
          message: record.error?.message ?? record.reason ?? 'failed',
          ...(record.error?.stack ? { stack: record.error.stack } : {}),
        });
  }

  /**
   * Without waiting, as Celery's `.result`: the value once SUCCESS, the error (a TaskFailedError or
   * TaskRevokedError, not thrown) once FAILURE or REVOKED, the last progress while it runs, undefined
   * while PENDING.
   */
  async result(): Promise<unknown> {
    const record = await this.info();
    if (!record) return undefined;
    if (record.state === 'SUCCESS') return record.result;
    if (record.state === 'FAILURE' || record.state === 'REVOKED') return this.errorOf(record);
    return record.progress;
  }

  /** True once it succeeded (Celery's `successful()`). */
  async successful(): Promise<boolean> {
    return (await this.state()) === 'SUCCESS';
  }

  /** True once it failed for good (Celery's `failed()`). */
  async failed(): Promise<boolean> {
    return (await this.state()) === 'FAILURE';
  }

  /** When it ended (SUCCESS, FAILURE or REVOKED), as Celery's `date_done`; undefined before. */
  async dateDone(): Promise<Date | undefined> {
    const doneAt = (await this.info())?.doneAt;
    return doneAt === undefined ? undefined : new Date(doneAt);
  }

  /** The stack of its failure as printed in the worker (Celery's `traceback`), if it failed. */
  async traceback(): Promise<string | undefined> {
    return (await this.info())?.error?.stack;
  }

  /** Deletes the stored result. */
  forget(): Promise<void> {
    return this.store.forget(this.id);
  }

  toJSON(): { id: string; task?: string } {
    return this.taskName ? { id: this.id, task: this.taskName } : { id: this.id };
  }
}
