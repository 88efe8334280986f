/**
 * Takes jobs from one queue for a worker node. While the queue has jobs, one `take` script call moves
 * a batch of them to `active` and returns their records (one round trip for many jobs); when it is
 * empty, a blocking BRPOPLPUSH on the queue's own connection waits for the next one. Also runs
 * delayed-job activation (bee-queue) and the periodic stall check.
 *
 * Stopping never strands a job: instead of dropping the blocking connection (a job Redis already
 * moved to `active` would be lost with the unread reply), a blocked fetch is ended with CLIENT
 * UNBLOCK, which makes BRPOPLPUSH return nil without moving anything; a job that did arrive is run.
 */
import { sendStallErrbacks } from './stall-errbacks.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BeeBroker } from '../broker/bee-broker.js';
import type { Keys } from '../broker/keys.js';
import type { Redis, RedisFactory } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import { DeliveryTokens } from '../broker/delivery.js';
import { wrongTypedKeys } from '../broker/key-check.js';
import type { AppConfig } from '../core/config.js';
import { defaults } from '../defaults.js';

/** A delivery handed over by the take script: the job's id, raw record, delivery token and when it started. */
export interface TakenJob {
  id: string;
  raw: string;
  /** Names this delivery; its `active` entry is `~<token>~<id>` (broker/delivery.ts). */
  token: string;
  startedAt: number;
  /** A rate-limited job may start at this ms time, not before (0 = now). */
  notBefore: number;
  /** False for a held job (prefetched, rate-limited): take.lua did not mark it STARTED; the node asks to start it. */
  started: boolean;
  /** The node's control-subscription epoch when the job arrived (a revoke since may have been missed if it changed). */
  epoch?: number | undefined;
}

/** How many jobs a take may hand over: `now` to start at once, `later` prefetched. */
export interface Claim {
  now: number;
  later: number;
}

export interface ConsumerHost {
  /** How many jobs this queue may take now; the host counts them as claimed. */
  claim(consumer: QueueConsumer): Claim;
  /** Ends a claim (its jobs, if any, are accepted in the same event-loop turn). */
  release(count: number): void;
  /** May this queue wait (block) for its next job? */
  canWait(consumer: QueueConsumer): boolean;
  /** Jobs arrived in `active`, started. */
  accept(consumer: QueueConsumer, jobs: TakenJob[]): void;
  /** Something changed; re-evaluate fetching on every queue. */
  pump(): void;
  /** Rate limits for the take script: "task=intervalMs …". */
  rateTable(): string;
  /** Redis's time as the node reads it (ms). */
  now(): number;
  /** Whether takes announce task-received / -started / -revoked now. */
  taskEvents(): boolean;
}

export class QueueConsumer {
  readonly broker: BeeBroker;
  /** A take or a blocking wait is under way. */
  fetching = false;
  private stopping = false;
  private blockingId: number | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private settled: (() => void) | undefined;
  private failures = 0;
  private readonly tokens = new DeliveryTokens();

  constructor(
    readonly queue: string,
    private readonly host: ConsumerHost,
    private readonly keys: Keys,
    private readonly config: AppConfig,
    private readonly client: Redis,
    factory: RedisFactory,
    private readonly log: Logger,
    private readonly nodeName: string,
  ) {
    this.broker = new BeeBroker(queue, {
      factory,
      client,
      keyPrefix: keys.prefix,
      delayedWindowMs: defaults.delayedWindowMs,
      label: `${nodeName}:${queue}`,
      clockOffsetMs: () => this.host.now() - Date.now(),
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
    // A failed first check (a broken key) is logged like any later one: the node still starts.
    await this.checkStalls().catch((err: unknown) => this.log.error({ err, queue: this.queue }, 'stall check failed'));
    this.scheduleStallCheck();
  }

  /** Starts a fetch if none is under way and the host has room. */
  pump(): void {
    if (this.stopping || this.fetching) return;
    const claim = this.host.claim(this);
    if (claim.now + claim.later > 0) {
      this.fetching = true;
      void this.fetch(claim);
    } else if (this.host.canWait(this)) {
      this.fetching = true;
      void this.fetch({ now: 0, later: 0 });
    }
  }

  private take(first: string, count: number, prefetch: number): Promise<TakenJob[]> {
    const k = this.keys;
    const q = this.queue;
    const now = this.host.now();
    return runScript(
      this.client,
      'taskqTake',
      [k.queue(q, 'waiting'), k.queue(q, 'active'), k.queue(q, 'jobs'), k.events, k.revoked, k.queue(q, 'delayed'), k.queue(q, 'earlierDelayed'), k.queue(q, 'dead')],
      [
      first,
      count,
      JSON.stringify(this.nodeName),
      this.tokens.next(),
      this.config.resultExpiresMs,
      this.config.eventsMaxLen,
      this.host.taskEvents() ? '1' : '0',
      k.resultPrefix,
      this.host.rateTable(),
      k.ratePrefix,
      defaults.rateHorizonMs,
      prefetch,
      now,
    ]).then((reply) => {
      const flat = reply as string[];
      const jobs: TakenJob[] = [];
      for (let i = 0; i + 4 < flat.length; i += 5) {
        jobs.push({ id: flat[i] as string, raw: flat[i + 1] as string, startedAt: now, notBefore: Number(flat[i + 2]), started: flat[i + 3] === '1', token: flat[i + 4] as string });
      }
      return jobs;
    });
  }

  /** Takes what the claim allows; with none waiting (or no claim), blocks for the next job. */
  private async fetch(claim: Claim): Promise<void> {
    let jobs: TakenJob[] = [];
    let claimed = claim.now + claim.later;
    try {
      if (claimed > 0) {
        jobs = await this.take('', claim.now, claim.later);
        // The jobs taken now count as busy on the host (accepted below, in this same turn).
        this.host.release(claimed);
        claimed = 0;
      }
      // Block only for a job that can start: a claim of prefetch room alone does not wait.
      if (jobs.length === 0 && !this.stopping && (claim.now > 0 || claim.later === 0)) {
        const id = await this.broker.bclient.brpoplpush(this.keys.queue(this.queue, 'waiting'), this.keys.queue(this.queue, 'active'), 0);
        if (id) jobs = await this.take(id, 0, 0);
      }
      this.failures = 0;
    } catch (err) {
      this.host.release(claimed);
      if (!this.stopping) {
        this.failures++;
        const delay = Math.min(100 * 2 ** this.failures, 5000);
        const broken = /WRONGTYPE/.test(String((err as Error)?.message)) ? await this.brokenKeys() : [];
        const why = broken.length ? `: ${broken.join('; ')}. Delete or rename ${broken.length > 1 ? 'these keys' : 'this key'} (redis-cli DEL …); the queue cannot be served until then` : '';
        this.log.error({ err, queue: this.queue, retryInMs: delay, brokenKeys: broken }, `fetching jobs failed${why}`);
        await sleep(delay);
      }
    } finally {
      this.fetching = false;
    }
    if (jobs.length) this.host.accept(this, jobs);
    this.settled?.();
    this.host.pump();
  }

  /** The keys of this queue that hold another type than taskq's layout says. */
  private brokenKeys(): Promise<string[]> {
    const k = this.keys;
    const q = this.queue;
    const waiting = k.queue(q, 'waiting');
    return wrongTypedKeys(this.client, [
      [waiting, 'list'], [`${waiting}:high`, 'list'], [`${waiting}:low`, 'list'], [k.queue(q, 'active'), 'list'],
      [k.queue(q, 'jobs'), 'hash'], [k.queue(q, 'delayed'), 'zset'], [k.queue(q, 'dead'), 'zset'], [k.queue(q, 'stalling'), 'set'],
      [k.events, 'stream'], [k.revoked, 'zset'],
    ]).catch(() => []);
  }

  /**
   * Ends a blocked wait without stopping (the node stopped taking work for a while): BRPOPLPUSH
   * returns nil, and the next pump asks the host again.
   */
  interrupt(): void {
    if (this.fetching) void this.unblock();
  }

  /** Ends a blocked fetch; resolves when no fetch is under way. Jobs that arrived meanwhile are accepted. */
  async stopFetching(): Promise<void> {
    this.stopping = true;
    while (this.fetching) {
      const settled = new Promise<void>((resolve) => (this.settled = resolve));
      await this.unblock();
      // UNBLOCK may land before BRPOPLPUSH blocks: send it again if nothing settled.
      await Promise.race([settled, sleep(20)]);
    }
    this.settled = undefined;
  }

  /**
   * Ends the blocking fetch, if one is under way. After a reconnect ioredis sends the blocked command
   * again before anything else on that connection, so the id read on 'ready' may still be the old
   * one: when UNBLOCK finds nothing under it, the connection is found by its name.
   */
  private async unblock(): Promise<void> {
    const by = async (id: number | undefined): Promise<boolean> => id !== undefined && Number(await this.client.client('UNBLOCK', id)) === 1;
    try {
      if (await by(this.blockingId)) return;
      const name = this.broker.bclient.options.connectionName;
      const list = String(await this.client.client('LIST'));
      const line = list.split('\n').find((l) => l.includes(` name=${name} `) && /\bcmd=brpoplpush\b/.test(l));
      const id = line?.match(/^id=(\d+)/)?.[1];
      if (id && (await by(Number(id)))) this.blockingId = Number(id);
    } catch {
      // Redis unreachable: the caller tries again, and shutdown steps are bounded.
    }
  }

  /** One stall check (a no-op if another process ran it within the stall interval). */
  async checkStalls(): Promise<{ requeued: string[]; failed: string[] }> {
    const k = this.keys;
    const q = this.queue;
    const reply = (await runScript(
      this.client,
      'taskqStalls',
      [k.queue(q, 'stallBlock'), k.queue(q, 'stalling'), k.queue(q, 'waiting'), k.queue(q, 'active'), k.queue(q, 'jobs'), k.queue(q, 'dead'), k.events, k.queue(q, 'stallLast'), k.nodes, k.queues],
      [
        this.config.stallIntervalMs,
        this.config.maxStalls,
        this.config.resultExpiresMs,
        this.config.eventsMaxLen,
        k.resultPrefix,
        q,
        this.config.events ? '1' : '0',
        this.config.deadMaxLen,
        this.config.deadMaxAgeMs,
        this.config.eventsMaxAgeMs,
        this.config.heartbeatMs * 3,
        `${k.prefix}:`,
      ],
    )) as string[];
    const sep = reply.indexOf('|');
    const requeued = sep < 0 ? [] : reply.slice(0, sep);
    const failed = sep < 0 ? [] : reply.slice(sep + 1);
    if (requeued.length) this.log.warn({ queue: q, jobs: requeued }, 'stalled jobs re-delivered (their worker stopped)');
    if (failed.length) {
      this.log.error({ queue: q, jobs: failed }, 'jobs failed after too many stalls (or acknowledged early with their worker gone); see `taskq dead ls`');
      await sendStallErrbacks(this.client, k, this.config, q, failed, this.log);
    }
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
