/**
 * The handle of a group (Celery's GroupResult): its members' handles in order; `get()` gives their
 * values in that order.
 */
import { setMaxListeners } from 'node:events';
import { AsyncResult, type GetOptions } from './async-result.js';
import type { RevokeResult } from './result-store.js';

export class GroupResult<R = unknown> {
  constructor(
    /** The group's id (a chord's id when it is a chord's header). */
    readonly id: string,
    /** One handle per member, in the group's order. */
    readonly results: ReadonlyArray<AsyncResult<R> | GroupResult<unknown>>,
  ) {}

  /** Every member's value, in order; rejects with the first failure met (as Celery with `propagate`). */
  async get(options: GetOptions = {}): Promise<R[]> {
    // The first failure ends the wait for the others too (their subscriptions are released).
    const done = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
    setMaxListeners(0, signal); // one listener per member
    try {
      return (await Promise.all(this.results.map((r) => r.get({ ...options, signal })))) as R[];
    } finally {
      done.abort();
    }
  }

  /** How many members succeeded (Celery's `completed_count()`). */
  async completedCount(): Promise<number> {
    const states = await Promise.all(this.results.map((r) => (r instanceof GroupResult ? r.successful() : r.successful())));
    return states.filter(Boolean).length;
  }

  /** True once every member is over. */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.ready()))).every(Boolean);
  }

  /** True once every member succeeded. */
  async successful(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.successful()))).every(Boolean);
  }

  /** True if any member failed. */
  async failed(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.failed()))).some(Boolean);
  }

  /** Revokes every member. */
  async revoke(options: { terminate?: boolean } = {}): Promise<RevokeResult[]> {
    const out = await Promise.all(this.results.map((r) => r.revoke(options)));
    return out.flat();
  }

  /** Deletes every member's stored result. */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((r) => r.forget()));
  }

  /** Rejects with the first member failure seen; never resolves otherwise (until `signal` aborts). */
  failure(signal: AbortSignal): Promise<never> {
    return Promise.race(this.results.map((r) => r.failure(signal)));
  }

  toJSON(): { id: string; results: unknown[] } {
    return { id: this.id, results: this.results.map((r) => r.toJSON()) };
  }
}

export { AsyncResult };
