/**
 * Deliveries a node holds but has not started: reserved (taken beyond its free slots, prefetched) or
 * waiting on a timer for their rate-limit slot. They are in `active` and kept alive like running ones.
 */
import { deliveryEntry } from '../broker/delivery.js';
import type { Keys } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { Logger } from 'pino';
import type { QueueConsumer, TakenJob } from './queue-consumer.js';
import { jobInfo } from './job-info.js';
import type { JobsSnapshot } from './worker-types.js';

export interface Held {
  consumer: QueueConsumer;
  job: TakenJob;
}

export class HeldJobs {
  private readonly reserved: Held[] = [];
  private readonly slotWaits = new Map<string, Held & { timer: NodeJS.Timeout }>();

  get size(): number {
    return this.reserved.length + this.slotWaits.size;
  }

  /** Holds a delivery until a slot frees ({@link next}). */
  reserve(held: Held): void {
    this.reserved.push(held);
  }

  /** Holds a rate-limited delivery until its start slot, then hands it to `due` (a timer, no polling). */
  waitForSlot(held: Held, delayMs: number, due: (held: Held) => void): void {
    const key = deliveryEntry(held.job.token, held.job.id);
    const timer = setTimeout(() => {
      this.slotWaits.delete(key);
      due(held);
    }, delayMs);
    this.slotWaits.set(key, { ...held, timer });
  }

  /** The oldest reserved delivery, to start now. */
  next(): Held | undefined {
    return this.reserved.shift();
  }

  /** Stops holding job `id` (revoked) and returns it, if held. */
  remove(id: string): Held | undefined {
    const at = this.reserved.findIndex((r) => r.job.id === id);
    if (at >= 0) return this.reserved.splice(at, 1)[0];
    for (const [key, w] of this.slotWaits) {
      if (w.job.id !== id) continue;
      clearTimeout(w.timer);
      this.slotWaits.delete(key);
      return w;
    }
    return undefined;
  }

  /** Stops holding anything (shutdown) and returns what was held, oldest first. */
  drain(): Held[] {
    for (const w of this.slotWaits.values()) clearTimeout(w.timer);
    const all = [...this.reserved, ...this.slotWaits.values()];
    this.reserved.length = 0;
    this.slotWaits.clear();
    return all;
  }

  /** What is held, without letting go: reserved (waiting for a slot) and scheduled (for a rate slot). */
  snapshot(): Pick<JobsSnapshot, 'reserved' | 'scheduled'> {
    return {
      reserved: this.reserved.map((h) => jobInfo(h.job, h.consumer.queue, false)),
      scheduled: [...this.slotWaits.values()].map((h) => jobInfo(h.job, h.consumer.queue, false)),
    };
  }

  /** The `active` entries of the held deliveries, with their queue. */
  *entries(): Iterable<[entry: string, queue: string]> {
    for (const r of this.reserved) yield [deliveryEntry(r.job.token, r.job.id), r.consumer.queue];
    for (const [key, r] of this.slotWaits) yield [key, r.consumer.queue];
  }
}

/**
 * Gives deliveries back to the front of their queue, at their priority (requeue.lua), only while each
 * still owns its job (a stall check may have re-delivered it: then nothing changes). Counts the calls
 * under way, so the node knows when it is idle.
 */
export class GiveBack {
  /** Calls under way. */
  pending = 0;

  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
    /** Called after each, given back or not. */
    private readonly done: (id: string) => void,
  ) {}

  /** Gives these back; the last first, so they keep their order at the front. `lost`: their worker died (stall count +1). */
  async all(held: Held[], lost = false): Promise<void> {
    await Promise.all(held.reverse().map((h) => this.one(h, lost)));
  }

  private async one(held: Held, lost: boolean): Promise<void> {
    const q = held.consumer.queue;
    this.pending++;
    try {
      const owned = await runScript(this.client, 'taskqRequeue', [this.keys.queue(q, 'active'), this.keys.queue(q, 'waiting'), this.keys.queue(q, 'jobs')], [held.job.id, held.job.token, lost ? '1' : '0']);
      this.log.info({ jobId: held.job.id, queue: q }, owned === 1 ? 'returned to its queue' : 'not returned: this delivery no longer owned it');
    } catch (err) {
      // Still in `active`: the stall check re-delivers it once this node stops proving it alive.
      this.log.error({ err, jobId: held.job.id, queue: q }, 'could not return a job to its queue; the stall check will re-deliver it');
    } finally {
      this.pending--;
      this.done(held.job.id);
    }
  }
}
