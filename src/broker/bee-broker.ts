/**
 * The bee-queue adapter: a bee-queue Queue that runs on taskq's ioredis clients.
 *
 * What taskq takes from bee-queue: the queue key layout, connection set-up (command, blocking and
 * subscriber clients), its Lua script cache, and its delayed-job activation (a ZSET raised into
 * `waiting` by a timer that a Pub/Sub message moves earlier). taskq replaces the job loop, job
 * completion and stall checks (src/worker/, src/broker/lua/) to add results, events, retries and
 * bounded re-delivery in the same round trips.
 *
 * What this class fixes to make bee-queue 2.0.0 work on ioredis (docs/design.md):
 *  - client recognition: bee-queue tests `constructor.name`; we never hand it a client to recognise —
 *    `makeClient` returns clients from taskq's RedisFactory (whose class is named `Redis` anyway);
 *  - `saveAll()` called node_redis's `batch()`: we use an ioredis pipeline;
 *  - `checkHealth()` read MULTI replies as values; ioredis gives `[err, value]` pairs;
 *  - bee-queue's EVALSHA calls fail with NOSCRIPT after a Redis restart (empty script cache), which
 *    silently stopped delayed-job activation: we reload the scripts and retry once;
 *  - `close(timeout)` could leave finished jobs in `active`; taskq's worker drains before closing,
 *    and `close()` here only releases connections.
 */
import { createRequire } from 'node:module';
import { defaults } from '../defaults.js';
import type { Redis, RedisFactory } from './redis-factory.js';
import { runScript } from './scripts.js';

const require = createRequire(import.meta.url);
// bee-queue is CommonJS without an exports map; its Lua cache lives in lib/lua.
const BeeQueue = require('bee-queue') as new (name: string, settings: Record<string, unknown>) => BeeQueueInternals;
const beeLua = require('bee-queue/lib/lua/index.js') as { buildCache(client: unknown): Promise<void> };

/** The parts of bee-queue's Queue that the adapter uses or overrides (it is untyped JS). */
interface BeeQueueInternals {
  name: string;
  paused: boolean;
  client: Redis;
  bclient: Redis;
  eclient: Redis;
  settings: Record<string, unknown>;
  _isClosed: boolean;
  _delayedTimer: { stop(): void; schedule(ms: number): void } | null;
  checkTimer: NodeJS.Timeout | null;
  _emitError: (err: Error) => void;
  connect(): Promise<boolean>;
  toKey(name: string): string;
  _activateDelayed(): void;
  _onMessage(channel: string, message: string): void;
  _evalScriptOn(commandable: unknown, args: unknown[]): Promise<unknown>;
  createJob(data: unknown): { _save(evalScript: (args: unknown[]) => Promise<unknown>): Promise<unknown> };
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface QueueHealth {
  waiting: number;
  active: number;
  delayed: number;
  dead: number;
}

export interface BeeBrokerOptions {
  factory: RedisFactory;
  /** The process's shared command connection (not closed by the adapter). */
  client: Redis;
  keyPrefix: string;
  /** Ms between delayed-job polls when no wake-up arrives. */
  delayedWindowMs: number;
  /** Label for connection names (`taskq:blocking:<label>`). */
  label: string;
  /** How far Redis's clock is ahead of this host's (ms): due times in Redis are by Redis's clock. */
  clockOffsetMs?: () => number;
}

const Base = BeeQueue as unknown as new (name: string, settings: Record<string, unknown>) => BeeQueueInternals;

export class BeeBroker extends Base {
  private readonly opts: BeeBrokerOptions;
  private closed: Promise<void> | undefined;

  constructor(queue: string, opts: BeeBrokerOptions) {
    super(queue, {
      prefix: opts.keyPrefix,
      autoConnect: false,
      isWorker: true,
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      activateDelayedJobs: true,
      nearTermWindow: opts.delayedWindowMs,
      // bee-queue waits for the last job due within this window before raising any (1 s by default):
      // a retry or countdown would start up to a second late.
      delayedDebounce: defaults.delayedDebounceMs,
      quitCommandClient: false,
      redis: {},
    });
    this.opts = opts;
  }

  /** bee-queue hook: every client comes from taskq's factory instead of node_redis. */
  async makeClient(clientName: 'client' | 'bclient' | 'eclient', _createNew: boolean): Promise<Redis> {
    const client =
      clientName === 'client'
        ? this.opts.client
        : await this.opts.factory.connected(clientName === 'bclient' ? 'blocking' : 'subscriber', this.opts.label);
    client.on('error', this._emitError);
    this[clientName] = client;
    return client;
  }

  /** Connects, loads bee-queue's scripts and starts delayed-job activation. */
  async start(): Promise<void> {
    await this.connect();
    this._activateDelayed();
  }

  /**
   * bee-queue hook: its delayed-job timer runs taskq's raise.lua instead of raiseDelayedJobs, which
   * put every due job at normal priority and compared due times with this host's clock.
   */
  override _activateDelayed(): void {
    if (!this.settings.activateDelayedJobs || !this._delayedTimer) return;
    runScript(this.client, 'taskqRaise', [this.toKey('delayed'), this.toKey('waiting'), this.toKey('jobs')], [defaults.delayedDebounceMs]).then(
      (reply) => {
        const [, next] = reply as [number, string | number];
        this.scheduleAt(Number.parseInt(String(next), 10));
      },
      (err: Error) => {
        if (this.paused) return;
        this._emitError(err);
        // Try again later rather than never: a job due now must not wait for the next enqueue.
        this._delayedTimer?.schedule(Date.now() + 1000);
      },
    );
  }

  /** bee-queue hook: a wake-up for an earlier delayed job carries its due time by Redis's clock. */
  override _onMessage(channel: string, message: string): void {
    if (channel === this.toKey('earlierDelayed')) this.scheduleAt(Number.parseInt(message, 10));
    else super._onMessage(channel, message);
  }

  /** Schedules delayed activation for `redisMs` (Redis's clock) on this host's timer; -1 = the window's end. */
  private scheduleAt(redisMs: number): void {
    this._delayedTimer?.schedule(redisMs < 0 || Number.isNaN(redisMs) ? -1 : redisMs - (this.opts.clockOffsetMs?.() ?? 0));
  }

  /** bee-queue hook: retries once after reloading scripts when Redis lost its script cache. */
  override _evalScriptOn(commandable: unknown, args: unknown[]): Promise<unknown> {
    const original = args.slice();
    return super._evalScriptOn(commandable, args).catch(async (err: Error) => {
      if (!String(err?.message).includes('NOSCRIPT')) throw err;
      await beeLua.buildCache(this.client);
      return super._evalScriptOn(commandable, original);
    });
  }

  /** Queue counts, read with one MULTI (ioredis replies are `[err, value]` pairs). */
  async checkHealth(): Promise<QueueHealth> {
    const replies = await this.opts.client
      .multi()
      .llen(this.toKey('waiting'))
      .llen(this.toKey('active'))
      .zcard(this.toKey('delayed'))
      .zcard(this.toKey('dead'))
      .exec();
    const value = (i: number): number => {
      const [err, v] = replies?.[i] ?? [new Error('no reply'), 0];
      if (err) throw err;
      return Number(v);
    };
    return { waiting: value(0), active: value(1), delayed: value(2), dead: value(3) };
  }

  /** bee-queue's saveAll on an ioredis pipeline (it called node_redis's `batch()`). */
  async saveAll(jobs: Iterable<{ _save(evalScript: (args: unknown[]) => Promise<unknown>): Promise<unknown> }>): Promise<Map<unknown, Error>> {
    const pipeline = this.opts.client.pipeline();
    const errors = new Map<unknown, Error>();
    const saves: Promise<unknown>[] = [];
    for (const job of jobs) {
      saves.push(job._save((args) => this._evalScriptOn(pipeline, args)).catch((err: Error) => void errors.set(job, err)));
    }
    await pipeline.exec();
    await Promise.all(saves);
    return errors;
  }

  /** Releases the blocking and subscriber connections (the shared command client stays open). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.paused = true;
      this._isClosed = true;
      this._delayedTimer?.stop();
      if (this.checkTimer) clearTimeout(this.checkTimer);
      const own = [this.bclient, this.eclient].filter(Boolean);
      await Promise.allSettled(own.map((c) => c.quit().catch(() => c.disconnect())));
      this.opts.client.off('error', this._emitError);
    })();
    return this.closed;
  }
}
