/**
 * A handle on a task's outcome, as in Celery. It works from any process that can reach the broker:
 * `app.result(id)` rebuilds one from an id.
 */
import { setMaxListeners } from 'node:events';
import { defaults } from '../defaults.js';
import { ResultTimeoutError, TaskFailedError, TaskRevokedError, TaskqError } from '../errors.js';
import type { ResultRecord } from './result-record.js';
import type { GroupResult } from './group-result.js';
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
  /** The step before this one in a chain (Celery's `parent`): `get()` fails as soon as it fails. */
  parent: AsyncResult | GroupResult | undefined;
  /** False for a chord's body: a failed header member fails the body itself, so the header is not watched. */
  followsParent = true;

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
    if (!this.parent || !this.followsParent) return this.getOwn(options);
    // Celery's follow_parents: a chain's handle fails with the step that failed, not at its timeout.
    const done = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
    setMaxListeners(0, signal); // one listener per step of the chain
    try {
      return await Promise.race([this.getOwn({ ...options, signal }), this.parent.failure(signal)]);
    } finally {
      done.abort();
    }
  }

  /**
   * Rejects with this task's (or a step before it's) error once one fails; never resolves otherwise
   * (it stops waiting when `signal` aborts). For chain handles following their parents.
   */
  async failure(signal: AbortSignal): Promise<never> {
    const own = this.ignoreResult
      ? new Promise<never>(() => {})
      : this.getOwn({ timeout: 0, signal, propagate: true }).then(
          () => new Promise<never>((resolve) => signal.addEventListener('abort', () => resolve(undefined as never), { once: true })),
          (err: unknown) => {
            if (signal.aborted) return new Promise<never>(() => {});
            throw err;
          },
        );
    return this.parent && this.followsParent ? Promise.race([own, this.parent.failure(signal)]) : own;
  }

  private async getOwn(options: GetOptions): Promise<T> {
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

  /** The tasks this one sent when it ended (its chain's next step, its links), as handles (Celery's `children`). */
  async children(): Promise<AsyncResult[]> {
    const ids = (await this.info())?.children ?? [];
    return ids.map((id) => new AsyncResult(id, this.store, undefined, false, this.config));
  }

  toJSON(): { id: string; task?: string } {
    return this.taskName ? { id: this.id, task: this.taskName } : { id: this.id };
  }
}
