/**
 * A worker node: consumes some queues of an app with a node-wide concurrency, records every outcome
 * atomically (result + event + release from `active`), keeps its running jobs proven alive for the
 * stall checks, announces itself with heartbeats, and shuts down warm (finish running jobs) or,
 * past its timeout, aborts jobs and returns unfinished ones to their queue so nothing stays in
 * `active`.
 */
import { hostname, loadavg } from 'node:os';
import { once } from 'node:events';
import pino, { type Logger } from 'pino';
import type { App } from '../core/app.js';
import { defaults } from '../core/defaults.js';
import { OptionError } from '../core/errors.js';
import { assertQueueName } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import { EventWriter } from '../events/event-writer.js';
import { runJob } from './job-runner.js';
import { finishCall } from './outcome.js';
import { QueueConsumer, type ConsumerHost } from './queue-consumer.js';
import { EventEmitter } from 'node:events';

export interface WorkerNodeOptions {
  /** Queues to consume (default: every queue the app's tasks route to). */
  queues?: string[];
  /** Jobs run at once on this node (default 4). */
  concurrency?: number;
  /** Node name, `name@host` (default `worker<pid>@<hostname>`). */
  name?: string;
  /** Root logger (default: warnings and errors to stderr). */
  logger?: Logger;
  /** Where the app came from, shown in unknown-task errors. */
  appOrigin?: string;
  /** Warm shutdown waits this long for running jobs before aborting them (ms). */
  shutdownTimeoutMs?: number;
}

interface Running {
  id: string;
  consumer: QueueConsumer;
  controller: AbortController;
  /** Set when shutdown gave up on the job: its late outcome is not recorded. */
  abandoned: boolean;
  done: Promise<void>;
}

export interface WorkerStats {
  active: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
}

/** Events: 'job-finished' (id, outcome kind), 'error' never: errors are logged. */
export class WorkerNode extends EventEmitter {
  readonly name: string;
  readonly queues: string[];
  readonly concurrency: number;
  private readonly log: Logger;
  private readonly shutdownTimeoutMs: number;
  private readonly consumers: QueueConsumer[] = [];
  private readonly running = new Map<string, Running>();
  private readonly reserved: Array<{ consumer: QueueConsumer; id: string }> = [];
  private client!: Redis;
  private events!: EventWriter;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopped: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private readonly cold = new AbortController();
  private resolveClosed!: () => void;
  /** Resolves once the node has stopped (after `stop()`, whoever called it). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));
  readonly stats: WorkerStats = { active: 0, processed: 0, succeeded: 0, failed: 0, retried: 0 };

  constructor(
    readonly app: App,
    private readonly options: WorkerNodeOptions = {},
  ) {
    super();
    this.concurrency = options.concurrency ?? defaults.concurrency;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new OptionError(`concurrency must be a positive integer, got ${JSON.stringify(options.concurrency)}`);
    }
    this.queues = [...new Set(options.queues?.length ? options.queues : app.knownQueues())];
    for (const q of this.queues) assertQueueName(q, 'the worker queues (-Q)');
    this.name = options.name ?? `worker${process.pid}@${hostname()}`;
    this.log = (options.logger ?? pino({ level: 'warn' }, pino.destination(2))).child({ node: this.name });
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? defaults.shutdownTimeoutMs;
  }

  /** Connects (exit code 69 if Redis is not there), starts consuming, announces worker-online. */
  start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.name} was already started`);
    this.state = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const cfg = this.app.config;
    this.client = await this.app.client();
    this.events = new EventWriter(this.client, this.app.keys.events, cfg.eventsMaxLen, cfg.events);
    await this.client.sadd(this.app.keys.queues, ...this.queues);
    for (const queue of this.queues) {
      const consumer = new QueueConsumer(queue, this.host, this.app.keys, cfg, this.client, this.app.redis, this.log, this.name);
      this.consumers.push(consumer);
    }
    await Promise.all(this.consumers.map((c) => c.start()));
    if (this.state !== 'starting') return; // stop() was called meanwhile
    this.state = 'running';
    await this.events.write('worker-online', {
      node: this.name,
      pid: process.pid,
      hostname: hostname(),
      queues: this.queues,
      concurrency: this.concurrency,
    });
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed')), cfg.heartbeatMs);
    this.keepaliveTimer = setInterval(() => void this.keepAlive(), Math.max(50, Math.floor(cfg.stallIntervalMs / 2)));
    this.log.info({ queues: this.queues, concurrency: this.concurrency }, 'worker ready');
    this.host.pump();
  }

  private readonly host: ConsumerHost = {
    canFetch: (consumer) => {
      if (this.state !== 'running') return false;
      const busy = this.running.size + this.reserved.length;
      if (busy >= this.concurrency) return false;
      if (consumer.inflight === 0) return true;
      const inflight = this.consumers.reduce((n, c) => n + c.inflight, 0);
      return busy + inflight < this.concurrency;
    },
    accept: (consumer, id) => {
      if (this.running.size < this.concurrency) this.execute(consumer, id);
      else this.reserved.push({ consumer, id });
    },
    pump: () => {
      for (const c of this.consumers) c.pump();
    },
  };

  private execute(consumer: QueueConsumer, id: string): void {
    const entry: Running = { id, consumer, controller: new AbortController(), abandoned: false, done: Promise.resolve() };
    this.running.set(id, entry);
    this.stats.active = this.running.size;
    entry.done = this.process(entry)
      .catch((err: unknown) => this.log.error({ err, jobId: id, queue: consumer.queue }, 'could not record a job outcome; the stall check will re-deliver it'))
      .finally(() => {
        this.running.delete(id);
        this.stats.active = this.running.size;
        const next = this.reserved.shift();
        if (next) this.execute(next.consumer, next.id);
        this.host.pump();
        if (this.running.size === 0 && this.reserved.length === 0) this.emit('idle');
      });
  }

  private async process(entry: Running): Promise<void> {
    const { id, consumer } = entry;
    const k = this.app.keys;
    const cfg = this.app.config;
    const q = consumer.queue;
    const startedAt = Date.now();
    const raw = (await runScript(this.client, 'taskqStart', [k.queue(q, 'jobs'), k.result(id), k.events], [
      id,
      this.name,
      startedAt,
      cfg.resultExpiresMs,
      cfg.eventsMaxLen,
      cfg.events ? '1' : '0',
    ])) as string | null;
    if (raw === null) {
      // Removed after it was queued: nothing to run; release it.
      await this.client.lrem(k.queue(q, 'active'), 1, id);
      return;
    }
    const attempt = await runJob({
      id,
      queue: q,
      raw,
      node: this.name,
      tasks: this.app.tasks,
      log: this.log,
      signal: entry.controller.signal,
      appOrigin: this.options.appOrigin ?? 'this app',
      progress: (value) => this.progress(id, q, startedAt, value),
    });
    if (entry.abandoned) return;
    const call = finishCall(attempt, { keys: k, config: cfg, node: this.name, now: Date.now(), startedAt, raw });
    await runScript(this.client, 'taskqFinish', call.keys, call.argv);
    this.stats.processed++;
    if (attempt.outcome.kind === 'success') this.stats.succeeded++;
    else if (attempt.outcome.kind === 'retry') this.stats.retried++;
    else {
      this.stats.failed++;
      this.log.warn({ jobId: id, task: attempt.taskName, reason: attempt.outcome.reason, error: attempt.outcome.error.message }, 'task failed');
    }
    this.emit('job-finished', id, attempt.outcome.kind);
  }

  private async progress(id: string, queue: string, startedAt: number, value: unknown): Promise<void> {
    const record = { state: 'STARTED', id, node: this.name, startedAt, progress: value };
    const data = JSON.stringify(record);
    const pipeline = this.client.pipeline();
    pipeline.set(this.app.keys.result(id), data, 'PX', this.app.config.resultExpiresMs, 'XX');
    if (this.app.config.events) {
      pipeline.xadd(this.app.keys.events, 'MAXLEN', '~', this.app.config.eventsMaxLen, '*', 'type', 'task-progress', 'data', JSON.stringify({ id, queue, node: this.name, progress: value }));
    }
    await pipeline.exec();
  }

  /** Proves every running or reserved job alive to the stall checks (one SREM per queue). */
  private async keepAlive(): Promise<void> {
    const byQueue = new Map<QueueConsumer, string[]>();
    for (const r of this.running.values()) byQueue.set(r.consumer, [...(byQueue.get(r.consumer) ?? []), r.id]);
    for (const r of this.reserved) byQueue.set(r.consumer, [...(byQueue.get(r.consumer) ?? []), r.id]);
    await Promise.all(
      [...byQueue].map(([c, ids]) =>
        this.client.srem(this.app.keys.queue(c.queue, 'stalling'), ...ids).catch((err: unknown) => this.log.warn({ err }, 'stall keep-alive failed')),
      ),
    );
  }

  private async heartbeat(): Promise<void> {
    const now = Date.now();
    const info = {
      node: this.name,
      pid: process.pid,
      hostname: hostname(),
      queues: this.queues,
      concurrency: this.concurrency,
      ...this.stats,
      load: loadavg(),
      freq: this.app.config.heartbeatMs / 1000,
      time: now,
    };
    const pipeline = this.client.pipeline();
    pipeline.zadd(this.app.keys.nodes, now, this.name);
    pipeline.set(this.app.keys.node(this.name), JSON.stringify(info), 'PX', this.app.config.heartbeatMs * 3);
    if (this.app.config.events) {
      pipeline.xadd(this.app.keys.events, 'MAXLEN', '~', this.app.config.eventsMaxLen, '*', 'type', 'worker-heartbeat', 'data', JSON.stringify(info));
    }
    await pipeline.exec();
  }

  /**
   * Warm shutdown: stop fetching, let running jobs finish and record them. After `timeoutMs`
   * (default: the node's shutdownTimeoutMs) running jobs are aborted through their signal; jobs that
   * still have not finished a grace period later are returned to the front of their queue.
   * Idempotent: every call returns the same promise.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    // A later call with timeoutMs 0 turns a warm shutdown under way into a cold one.
    if (options.timeoutMs === 0) this.cold.abort();
    this.stopped ??= this.shutdown(options.timeoutMs ?? this.shutdownTimeoutMs);
    return this.stopped;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      this.resolveClosed();
      return;
    }
    this.state = 'stopping';
    await this.starting?.catch(() => {});
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['stop fetching', () => Promise.all(this.consumers.map((c) => c.stopFetching()))],
      ['drain', () => this.drain(timeoutMs)],
      ['stop timers', async () => {
        clearInterval(this.heartbeatTimer);
        clearInterval(this.keepaliveTimer);
      }],
      ['close queues', () => Promise.all(this.consumers.map((c) => c.close()))],
      ['announce offline', async () => {
        await this.client.pipeline().zrem(this.app.keys.nodes, this.name).del(this.app.keys.node(this.name)).exec();
        await this.events.write('worker-offline', { node: this.name, pid: process.pid, ...this.stats });
      }],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.log.error({ err }, `shutdown step "${what}" failed`);
      }
    }
    this.state = 'stopped';
    this.log.info(this.stats, 'worker stopped');
    this.resolveClosed();
  }

  private async drain(timeoutMs: number): Promise<void> {
    const idle = (): Promise<void> => (this.running.size === 0 && this.reserved.length === 0 ? Promise.resolve() : once(this, 'idle').then(() => undefined));
    const timeout = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
    const cold = new Promise<'timeout'>((r) => {
      if (this.cold.signal.aborted) r('timeout');
      else this.cold.signal.addEventListener('abort', () => r('timeout'), { once: true });
    });
    if ((await Promise.race([idle(), timeout(timeoutMs), cold])) !== 'timeout') return;
    this.log.warn({ running: this.running.size }, 'shutdown timeout: aborting running jobs');
    for (const r of this.running.values()) r.controller.abort(new Error('worker shutting down'));
    const grace = this.cold.signal.aborted ? 0 : Math.min(5000, timeoutMs);
    if ((await Promise.race([idle(), timeout(grace)])) !== 'timeout') return;
    // Jobs that ignore their signal: hand them back so another worker runs them; never leave them in active.
    const pipeline = this.client.multi();
    for (const r of [...this.running.values(), ...this.reserved.map((x) => ({ ...x, abandoned: false }))]) {
      r.abandoned = true;
      pipeline.lrem(this.app.keys.queue(r.consumer.queue, 'active'), 1, r.id);
      pipeline.rpush(this.app.keys.queue(r.consumer.queue, 'waiting'), r.id);
    }
    this.reserved.length = 0;
    await pipeline.exec();
    this.log.warn({ jobs: [...this.running.keys()] }, 'jobs still running at shutdown were returned to their queues');
  }
}
