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
import { OptionError, Revoked } from '../core/errors.js';
import { assertQueueName } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import { EventWriter } from '../events/event-writer.js';
import { runJob, type Attempt } from './job-runner.js';
import { AsyncExecutor, type Executor, type PoolKind } from './executor.js';
import { ChildPool } from './pool/child-pool.js';
import { parseRateLimit } from '../core/rate-limit.js';
import { finishEntry, finishHeader, finishKeys } from './outcome.js';
import { QueueConsumer, type ConsumerHost, type TakenJob } from './queue-consumer.js';
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
  /** Hard time limit of every task that sets none (ms). */
  timeLimitMs?: number;
  /** Soft time limit of every task that sets none (ms). */
  softTimeLimitMs?: number;
  /** Where task code runs: `async` (this event loop, default), `threads` or `processes` (killable children). */
  pool?: PoolKind;
  /** The app's module file: the threads and processes pools load it in each child. */
  appModule?: string;
  /** Recycle a pool child after this many jobs. */
  maxTasksPerChild?: number;
  /** Recycle a pool child when, after a job, it uses more memory than this (KiB; a thread's heap, a process's RSS). */
  maxMemoryPerChildKb?: number;
  /** Grow the pool up to `max` slots while there is a backlog, shrink to `min` when idle (Celery's --autoscale). */
  autoscale?: { max: number; min: number };
  /** Log level and file for pool children (default: the node's level, stderr). */
  childLog?: { level: string; file?: string | undefined };
}

interface Running {
  job: TakenJob;
  consumer: QueueConsumer;
  /** Created when the task first reads `ctx.signal` (most never do; it is per-job garbage otherwise). */
  controller: AbortController | undefined;
  /** Set when shutdown gave up on the job: its late outcome is not recorded. */
  abandoned: boolean;
  /** Set when the job was revoked with terminate while running: it is recorded REVOKED. */
  revoked: boolean;
  /** Stops the job's code for good (threads / processes pools). */
  kill?: (reason: Error) => void;
  /** Outcome recorded at the hard time limit; the handler still runs (never re-queued at shutdown). */
  lingering?: boolean;
}

/** An outcome waiting for the next finish batch of its queue. */
interface Pending {
  entry: Running;
  attempt: Attempt;
}

/** Most jobs one finish script call records. */
const FINISH_BATCH = 100;
/** How often autoscale looks at the load (ms), and how many idle looks shrink the pool by one. */
const AUTOSCALE_TICK_MS = 250;
const AUTOSCALE_IDLE_TICKS = 8;
/** Most jobs one take script call hands over. */
const TAKE_BATCH = 100;

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
  /** Jobs run at once now (between autoscale min and max when autoscaling). */
  concurrency: number;
  private readonly autoscale: { min: number; max: number } | undefined;
  private autoscaleTimer: NodeJS.Timeout | undefined;
  /** The last take filled every slot it asked for: there may be more waiting (autoscale grows then). */
  private backlog = false;
  private idleTicks = 0;
  private readonly log: Logger;
  private readonly shutdownTimeoutMs: number;
  private readonly consumers: QueueConsumer[] = [];
  /** Jobs whose handler runs now (they hold the node's slots). */
  private readonly running = new Map<string, Running>();
  /** Jobs taken beyond the free slots (one blocking fetch per queue may land while the node is full). */
  private readonly reserved: Array<{ consumer: QueueConsumer; job: TakenJob }> = [];
  /** Rate-limited jobs waiting for their start slot (in `active`, kept alive, counted as busy). */
  private readonly slotWaits = new Map<string, { consumer: QueueConsumer; job: TakenJob; timer: NodeJS.Timeout }>();
  /** Rate limits for the take script ("task=intervalMs …"): the tasks' own, overridden at run time. */
  private rateTable = '';
  /** Jobs done running whose outcome is not recorded yet (still in `active`). */
  private readonly finishing = new Map<string, Running>();
  private readonly pending = new Map<QueueConsumer, Pending[]>();
  private flushScheduled = false;
  private pumpScheduled = false;
  private flushes = 0;
  /** Slots promised to take calls under way. */
  private claimed = 0;
  private client!: Redis;
  private executor: Executor = new AsyncExecutor();
  private control: Redis | undefined;
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
    if (options.autoscale) {
      const { min, max } = options.autoscale;
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
        throw new OptionError(`autoscale must be max,min with 1 ≤ min ≤ max, got ${JSON.stringify(options.autoscale)}`);
      }
      this.autoscale = { min, max };
      this.concurrency = min;
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
    await this.openPool();
    this.events = new EventWriter(this.client, this.app.keys.events, cfg.eventsMaxLen, cfg.events);
    await this.client.sadd(this.app.keys.queues, ...this.queues);
    await this.refreshRates();
    for (const queue of this.queues) {
      const consumer = new QueueConsumer(queue, this.host, this.app.keys, cfg, this.client, this.app.redis, this.log, this.name);
      this.consumers.push(consumer);
    }
    await Promise.all(this.consumers.map((c) => c.start()));
    await this.listen();
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
    if (this.autoscale) this.autoscaleTimer = setInterval(() => void this.rescale(), AUTOSCALE_TICK_MS);
    this.log.info({ queues: this.queues, concurrency: this.concurrency }, 'worker ready');
    this.host.pump();
  }

  private async openPool(): Promise<void> {
    const kind = this.options.pool ?? 'async';
    if (kind === 'async') return;
    if (!this.options.appModule) {
      throw new OptionError(`the ${kind} pool loads the app in each child: give the app's module (-A, or the appModule option)`);
    }
    const pool = new ChildPool({
      kind,
      size: this.concurrency,
      appModule: this.options.appModule,
      node: this.name,
      log: this.log,
      logLevel: this.options.childLog?.level ?? this.log.level,
      logfile: this.options.childLog?.file,
      maxTasksPerChild: this.options.maxTasksPerChild,
      maxMemoryKb: this.options.maxMemoryPerChildKb,
    });
    this.executor = pool;
    await pool.open();
  }

  /**
   * One autoscale step: one more slot when every slot is busy and the last take found a backlog;
   * one less after AUTOSCALE_IDLE_TICKS ticks with a slot to spare. Pool children follow the slots.
   */
  private async rescale(): Promise<void> {
    const scale = this.autoscale;
    if (!scale || this.state !== 'running') return;
    const full = this.busy >= this.concurrency;
    if (full && this.backlog && this.concurrency < scale.max) {
      this.idleTicks = 0;
      if (this.executor instanceof ChildPool) await this.executor.grow();
      this.concurrency++;
      this.log.info({ concurrency: this.concurrency }, 'autoscale: grew');
      this.host.pump();
    } else if (!full) {
      this.backlog = false;
      if (++this.idleTicks >= AUTOSCALE_IDLE_TICKS && this.concurrency > scale.min) {
        this.idleTicks = 0;
        this.concurrency--;
        if (this.executor instanceof ChildPool) await this.executor.shrink();
        this.log.info({ concurrency: this.concurrency }, 'autoscale: shrank');
      }
    } else {
      this.idleTicks = 0;
    }
  }

  /** Subscribes to the control channel (revoke with terminate; more commands come with remote control). */
  private async listen(): Promise<void> {
    const sub = await this.app.redis.connected('subscriber', `${this.name}:control`);
    this.control = sub;
    sub.on('error', (err: unknown) => this.log.warn({ err }, 'control connection error (reconnecting)'));
    sub.on('message', (_channel: string, message: string) => this.onControl(message));
    await sub.subscribe(this.app.keys.control);
  }

  private onControl(message: string): void {
    let command: { op?: unknown; id?: unknown; terminate?: unknown };
    try {
      command = JSON.parse(message) as typeof command;
    } catch {
      this.log.warn({ message }, 'ignored an undecodable control message');
      return;
    }
    if (command.op === 'rate_limit') {
      this.refreshRates().catch((err: unknown) => this.log.warn({ err }, 'could not read the rate limits'));
      return;
    }
    if (command.op === 'revoke' && typeof command.id === 'string' && command.terminate === true) {
      const entry = this.running.get(command.id);
      if (!entry) return;
      entry.revoked = true;
      const reason = new Revoked(`task ${command.id} was revoked (terminate)`);
      if (entry.kill) entry.kill(reason);
      else (entry.controller ??= new AbortController()).abort(reason);
      this.log.info({ jobId: command.id }, 'revoked: terminating (its signal was aborted)');
    }
  }

  private get busy(): number {
    return this.running.size + this.reserved.length + this.slotWaits.size;
  }

  /** Rebuilds the rate table from the tasks' limits and the run-time overrides in `<prefix>:rates`. */
  private async refreshRates(): Promise<void> {
    const overrides = await this.client.hgetall(this.app.keys.rates);
    const table: string[] = [];
    for (const def of this.app.tasks.values()) {
      let interval = def.rateIntervalMs;
      const override = overrides[def.name];
      if (override !== undefined) {
        try {
          interval = parseRateLimit(override, `rate limit of ${def.name} in ${this.app.keys.rates}`);
        } catch (err) {
          this.log.error({ err }, 'ignored an invalid run-time rate limit');
        }
      }
      if (interval) table.push(`${def.name}=${interval}`);
    }
    const next = table.join(' ');
    if (next !== this.rateTable) this.log.info({ rates: next || 'none' }, 'rate limits');
    this.rateTable = next;
  }

  private readonly host: ConsumerHost = {
    claim: () => {
      if (this.state !== 'running') return 0;
      const free = this.concurrency - this.busy - this.claimed;
      const claim = Math.max(0, Math.min(free, TAKE_BATCH));
      this.claimed += claim;
      return claim;
    },
    release: (count) => {
      this.claimed -= count;
    },
    canWait: () => this.state === 'running' && this.busy < this.concurrency,
    accept: (consumer, jobs) => {
      const now = Date.now();
      if (this.busy + jobs.length >= this.concurrency) this.backlog = true;
      for (const job of jobs) {
        if (job.notBefore > now) this.waitForSlot(consumer, job, job.notBefore - now);
        else if (this.running.size < this.concurrency) this.execute(consumer, job);
        else this.reserved.push({ consumer, job });
      }
    },
    rateTable: () => this.rateTable,
    pump: () => {
      // Coalesced: the jobs that finish in this turn free their slots first, so the next take asks
      // for all of them at once instead of one slot at a time.
      if (this.pumpScheduled) return;
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        for (const c of this.consumers) c.pump();
      });
    },
  };

  /** A rate-limited job starts at its reserved slot (a timer, no polling). */
  private waitForSlot(consumer: QueueConsumer, job: TakenJob, delayMs: number): void {
    const timer = setTimeout(() => {
      this.slotWaits.delete(job.id);
      this.host.accept(consumer, [{ ...job, notBefore: 0, startedAt: Date.now() }]);
    }, delayMs);
    this.slotWaits.set(job.id, { consumer, job, timer });
  }

  private execute(consumer: QueueConsumer, job: TakenJob): void {
    const entry: Running = { job, consumer, controller: undefined, abandoned: false, revoked: false };
    this.running.set(job.id, entry);
    this.stats.active = this.running.size;
    this.process(entry)
      .catch((err: unknown) => this.log.error({ err, jobId: job.id, queue: consumer.queue }, 'job failed inside the worker; the stall check will re-deliver it'))
      .finally(() => {
        this.running.delete(job.id);
        this.stats.active = this.running.size;
        const next = this.reserved.shift();
        if (next) this.execute(next.consumer, next.job);
        this.host.pump();
        this.checkIdle();
      });
  }

  private async process(entry: Running): Promise<void> {
    const { job, consumer } = entry;
    const q = consumer.queue;
    if (job.raw === '') {
      // Removed after it was queued: nothing to run; release it.
      await this.client.lrem(this.app.keys.queue(q, 'active'), 1, job.id);
      return;
    }
    const attempt = await runJob({
      id: job.id,
      queue: q,
      raw: job.raw,
      node: this.name,
      tasks: this.app.tasks,
      log: this.log,
      signal: () => (entry.controller ??= new AbortController()).signal,
      abort: (reason) => (entry.controller ??= new AbortController()).abort(reason),
      executor: this.executor,
      onExecution: (execution) => {
        if (execution.kill) entry.kill = execution.kill;
      },
      limits: { timeLimitMs: this.options.timeLimitMs, softTimeLimitMs: this.options.softTimeLimitMs },
      appOrigin: this.options.appOrigin ?? 'this app',
      progress: (value) => this.progress(job.id, q, job.startedAt, value),
    });
    if (entry.abandoned) return;
    if (entry.revoked) attempt.outcome = { kind: 'revoked', reason: 'terminated' };
    this.finishing.set(job.id, entry);
    const list = this.pending.get(consumer) ?? [];
    list.push({ entry, attempt });
    this.pending.set(consumer, list);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    if (attempt.lingering) {
      // Recorded already, but its code still runs here: keep its slot until it really ends.
      entry.lingering = true;
      this.log.warn({ jobId: job.id, task: attempt.taskName }, 'hard time limit passed; the task ignores its signal and keeps running (async pool)');
      await attempt.lingering;
    }
  }

  /** Records every pending outcome: one finish call per queue and batch. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    this.flushes++;
    const k = this.app.keys;
    const cfg = this.app.config;
    await Promise.all(
      batches.flatMap(([consumer, items]) => {
        const calls: Promise<void>[] = [];
        for (let i = 0; i < items.length; i += FINISH_BATCH) {
          const batch = items.slice(i, i + FINISH_BATCH);
          const now = Date.now();
          const argv = finishHeader(cfg, k, now);
          for (const { entry, attempt } of batch) {
            argv.push(...finishEntry(attempt, { config: cfg, node: this.name, now, startedAt: entry.job.startedAt, raw: entry.job.raw }));
          }
          calls.push(
            runScript(this.client, 'taskqFinish', finishKeys(k, consumer.queue), argv).then(
              () => this.recorded(batch),
              (err: unknown) => {
                this.log.error({ err, queue: consumer.queue, jobs: batch.map((b) => b.entry.job.id) }, 'could not record job outcomes; the stall check will re-deliver them');
                for (const { entry } of batch) this.finishing.delete(entry.job.id);
              },
            ),
          );
        }
        return calls;
      }),
    );
    this.flushes--;
    this.checkIdle();
  }

  private recorded(batch: Pending[]): void {
    for (const { entry, attempt } of batch) {
      this.finishing.delete(entry.job.id);
      const kind = attempt.outcome.kind;
      this.stats.processed++;
      if (kind === 'success') this.stats.succeeded++;
      else if (kind === 'retry') this.stats.retried++;
      else {
        this.stats.failed++;
        if (attempt.outcome.kind === 'failure') {
          this.log.warn({ jobId: entry.job.id, task: attempt.taskName, reason: attempt.outcome.reason, error: attempt.outcome.error.message }, 'task failed');
        }
      }
      this.emit('job-finished', entry.job.id, kind);
    }
  }

  private checkIdle(): void {
    if (this.isIdle()) this.emit('idle');
  }

  private isIdle(): boolean {
    return (
      this.running.size === 0 &&
      this.reserved.length === 0 &&
      this.slotWaits.size === 0 &&
      this.finishing.size === 0 &&
      this.pending.size === 0 &&
      this.flushes === 0
    );
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
    const add = (consumer: QueueConsumer, id: string): void => {
      const ids = byQueue.get(consumer);
      if (ids) ids.push(id);
      else byQueue.set(consumer, [id]);
    };
    for (const r of this.running.values()) add(r.consumer, r.job.id);
    for (const r of this.finishing.values()) add(r.consumer, r.job.id);
    for (const r of this.reserved) add(r.consumer, r.job.id);
    for (const r of this.slotWaits.values()) add(r.consumer, r.job.id);
    await Promise.all(
      [...byQueue].map(([c, ids]) =>
        this.client.srem(this.app.keys.queue(c.queue, 'stalling'), ...ids).catch((err: unknown) => this.log.warn({ err }, 'stall keep-alive failed')),
      ),
    );
  }

  private async heartbeat(): Promise<void> {
    // A missed rate_limit message (reconnect) is caught up here.
    await this.refreshRates();
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
        clearInterval(this.autoscaleTimer);
        clearInterval(this.heartbeatTimer);
        clearInterval(this.keepaliveTimer);
      }],
      ['close queues', () => Promise.all(this.consumers.map((c) => c.close()))],
      ['close control', async () => this.control?.disconnect()],
      ['close pool', () => this.executor.close()],
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
    const idle = (): Promise<void> => (this.isIdle() ? Promise.resolve() : once(this, 'idle').then(() => undefined));
    const timeout = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
    const cold = new Promise<'timeout'>((r) => {
      if (this.cold.signal.aborted) r('timeout');
      else this.cold.signal.addEventListener('abort', () => r('timeout'), { once: true });
    });
    if ((await Promise.race([idle(), timeout(timeoutMs), cold])) !== 'timeout') return;
    this.log.warn({ running: this.running.size }, 'shutdown timeout: aborting running jobs');
    for (const r of this.running.values()) r.controller?.abort(new Error('worker shutting down'));
    const grace = this.cold.signal.aborted ? 0 : Math.min(5000, timeoutMs);
    if ((await Promise.race([idle(), timeout(grace)])) !== 'timeout') return;
    // Jobs that ignore their signal: hand them back so another worker runs them; never leave them in active.
    const pipeline = this.client.multi();
    for (const w of this.slotWaits.values()) clearTimeout(w.timer);
    const waiting = [...this.reserved, ...this.slotWaits.values()].map((x) => ({ ...x, controller: undefined, abandoned: false, revoked: false }));
    this.slotWaits.clear();
    for (const r of [...this.running.values(), ...waiting]) {
      if ('lingering' in r && r.lingering) continue; // already recorded and out of `active`
      r.abandoned = true;
      pipeline.lrem(this.app.keys.queue(r.consumer.queue, 'active'), 1, r.job.id);
      pipeline.rpush(this.app.keys.queue(r.consumer.queue, 'waiting'), r.job.id);
    }
    this.reserved.length = 0;
    await pipeline.exec();
    this.log.warn({ jobs: [...this.running.keys()] }, 'jobs still running at shutdown were returned to their queues');
  }
}
