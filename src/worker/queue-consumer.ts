/**
 * Takes jobs from one queue for a worker node: blocking fetches (BRPOPLPUSH waiting → active) on the
 * queue's own connection, delayed-job activation (bee-queue), and the periodic stall check.
 *
 * Stopping never strands a job: instead of dropping the blocking connection (a job Redis already
 * moved to `active` would be lost with the unread reply), blocked fetches are ended with CLIENT
 * UNBLOCK, which makes BRPOPLPUSH return nil without moving anything; a job that did arrive is run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BeeBroker } from '../broker/bee-broker.js';
import type { Keys } from '../broker/keys.js';
import type { Redis, RedisFactory } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from '../core/config.js';
import { defaults } from '../core/defaults.js';

export interface ConsumerHost {
  /** May this queue start another fetch now? */
  canFetch(consumer: QueueConsumer): boolean;
  /** A job id arrived in `active`. */
  accept(consumer: QueueConsumer, id: string): void;
  /** Something changed; re-evaluate fetching on every queue. */
  pump(): void;
}

export class QueueConsumer {
  readonly broker: BeeBroker;
  /** Fetches under way (BRPOPLPUSH sent, no reply yet). */
  inflight = 0;
  private stopping = false;
  private blockingId: number | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private settled: (() => void) | undefined;
  private failures = 0;

  constructor(
    readonly queue: string,
    private readonly host: ConsumerHost,
    private readonly keys: Keys,
    private readonly config: AppConfig,
    private readonly client: Redis,
    factory: RedisFactory,
    private readonly log: Logger,
    nodeName: string,
  ) {
    this.broker = new BeeBroker(queue, {
      factory,
      client,
      keyPrefix: keys.prefix,
      delayedWindowMs: defaults.delayedWindowMs,
      label: `${nodeName}:${queue}`,
    });
    this.broker.on('error', (err) => this.log.error({ err, queue }, 'queue connection error (retrying)'));
  }

  async start(): Promise<void> {
    await this.broker.start();
    const bclient = this.broker.bclient;
    this.blockingId = Number(await bclient.client('ID'));
    // The id changes with every reconnect; UNBLOCK must target the current one.
    bclient.on('ready', () => {
      bclient.client('ID').then((id) => (this.blockingId = Number(id)), () => {});
    });
    await this.checkStalls();
    this.scheduleStallCheck();
  }

  /** Starts as many fetches as the host allows. */
  pump(): void {
    while (!this.stopping && this.host.canFetch(this)) {
      this.inflight++;
      void this.fetchOne();
    }
  }

  private async fetchOne(): Promise<void> {
    let id: string | null = null;
    try {
      id = await this.broker.bclient.brpoplpush(this.keys.queue(this.queue, 'waiting'), this.keys.queue(this.queue, 'active'), 0);
      this.failures = 0;
    } catch (err) {
      if (!this.stopping) {
        this.failures++;
        const delay = Math.min(100 * 2 ** this.failures, 5000);
        this.log.error({ err, queue: this.queue, retryInMs: delay }, 'fetching a job failed');
        await sleep(delay);
      }
    } finally {
      this.inflight--;
    }
    if (id) this.host.accept(this, id);
    this.settled?.();
    this.host.pump();
  }

  /** Ends every blocked fetch; resolves when none is under way. Jobs that arrived meanwhile are accepted. */
  async stopFetching(): Promise<void> {
    this.stopping = true;
    while (this.inflight > 0) {
      const settled = new Promise<void>((resolve) => (this.settled = resolve));
      if (this.blockingId !== undefined) await this.client.client('UNBLOCK', this.blockingId).catch(() => 0);
      // UNBLOCK may land before the next pipelined BRPOPLPUSH blocks: send it again if nothing settled.
      await Promise.race([settled, sleep(20)]);
    }
    this.settled = undefined;
  }

  /** One stall check (a no-op if another process ran it within the stall interval). */
  async checkStalls(): Promise<{ requeued: string[]; failed: string[] }> {
    const k = this.keys;
    const q = this.queue;
    const reply = (await runScript(
      this.client,
      'taskqStalls',
      [k.queue(q, 'stallBlock'), k.queue(q, 'stalling'), k.queue(q, 'waiting'), k.queue(q, 'active'), k.queue(q, 'jobs'), k.queue(q, 'dead'), k.events],
      [
        this.config.stallIntervalMs,
        this.config.maxStalls,
        Date.now(),
        this.config.resultExpiresMs,
        this.config.eventsMaxLen,
        k.resultPrefix,
        q,
        this.config.events ? '1' : '0',
      ],
    )) as string[];
    const sep = reply.indexOf('|');
    const requeued = sep < 0 ? [] : reply.slice(0, sep);
    const failed = sep < 0 ? [] : reply.slice(sep + 1);
    if (requeued.length) this.log.warn({ queue: q, jobs: requeued }, 'stalled jobs re-delivered (their worker stopped)');
    if (failed.length) this.log.error({ queue: q, jobs: failed }, 'jobs failed after too many stalls; see `taskq dead ls`');
    if (requeued.length) this.host.pump();
    return { requeued, failed };
  }

  private scheduleStallCheck(): void {
    this.stallTimer = setTimeout(() => {
      this.checkStalls()
        .catch((err: unknown) => this.log.error({ err, queue: this.queue }, 'stall check failed'))
        .finally(() => {
          if (!this.stopping) this.scheduleStallCheck();
        });
    }, this.config.stallIntervalMs);
    this.stallTimer.unref();
  }

  async close(): Promise<void> {
    this.stopping = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    await this.broker.close();
  }
}
