/**
 * A worker node: consumes some queues of an app with a node-wide concurrency, records every outcome
 * atomically (result + event + release from `active`), keeps its running jobs proven alive for the
 * stall checks, announces itself with heartbeats, and shuts down warm (finish running jobs) or,
 * past its timeout, aborts jobs and returns unfinished ones to their queue so nothing stays in
 * `active`.
 */
import { hostname } from 'node:os';
import { EventEmitter, once } from 'node:events';
import pino, { type Logger } from 'pino';
import type { App } from '../core/app.js';
import { defaults } from '../core/defaults.js';
import { OptionError, Revoked } from '../core/errors.js';
import { peekTaskName } from '../core/message.js';
import { assertQueueName } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runJob, type Attempt } from './job-runner.js';
import { runScript } from '../broker/scripts.js';
import { AsyncExecutor, type Executor } from './executor.js';
import { ChildPool } from './pool/child-pool.js';
import { QueueConsumer, type ConsumerHost, type TakenJob } from './queue-consumer.js';
import { RateTable } from './rate-table.js';
import { ControlListener } from './control-listener.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { Presence } from './presence.js';
import { Autoscaler, type Scalable } from './autoscaler.js';
import type { Running, WorkerNodeOptions, WorkerStats } from './worker-types.js';

export type { WorkerNodeOptions, WorkerStats } from './worker-types.js';

/** Prefetch (see prefetchLimit) while tasks take less than this on average (ms). */
const PREFETCH_BELOW_MS = 5;
/** Most jobs one take script call hands over. */
const TAKE_BATCH = 100;


/** Events: 'job-finished' (id, outcome kind), 'error' never: errors are logged. */
export class WorkerNode extends EventEmitter implements Scalable {
  readonly name: string;
  readonly queues: string[];
  /** Jobs run at once now (between autoscale min and max when autoscaling). */
  concurrency: number;
  private readonly autoscale: { min: number; max: number } | undefined;
  private autoscaler: Autoscaler | undefined;
  /** The last take filled every slot it asked for: there may be more waiting (autoscale grows then). */
  backlog = false;
  private readonly log: Logger;
  private readonly shutdownTimeoutMs: number;
  private readonly consumers: QueueConsumer[] = [];
  /** Jobs whose handler runs now (they hold the node's slots). */
  private readonly running = new Map<string, Running>();
  /** Jobs taken beyond the free slots (one blocking fetch per queue may land while the node is full). */
  private readonly reserved: Array<{ consumer: QueueConsumer; job: TakenJob }> = [];
  /** Rate-limited jobs waiting for their start slot (in `active`, kept alive, counted as busy). */
  private readonly slotWaits = new Map<string, { consumer: QueueConsumer; job: TakenJob; timer: NodeJS.Timeout }>();
  private rates!: RateTable;
  private recorder!: OutcomeRecorder;
  private presence!: Presence;
  private pumpScheduled = false;
  /** Moving average of task run times (ms): prefetch only while tasks are short. */
  private avgRuntimeMs: number | undefined;
  /** Slots promised to take calls under way. */
  private claimed = 0;
  private client!: Redis;
  private executor: Executor = new AsyncExecutor();
  private control: ControlListener | undefined;
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
    this.presence = new Presence(this.app, this.client, this.log);
    this.recorder = new OutcomeRecorder(this.client, this.app.keys, cfg, this.name, this.log, (job, attempt) => this.recorded(job, attempt), () => this.checkIdle());
    this.rates = new RateTable(this.client, this.app.keys, this.app.tasks, this.log);
    await this.client.sadd(this.app.keys.queues, ...this.queues);
    await this.rates.refresh();
    for (const queue of this.queues) {
      const consumer = new QueueConsumer(queue, this.host, this.app.keys, cfg, this.client, this.app.redis, this.log, this.name);
      this.consumers.push(consumer);
    }
    await Promise.all(this.consumers.map((c) => c.start()));
    this.control = new ControlListener(this.app.redis, this.app.keys.control, `${this.name}:control`, {
      revoke: (id, terminate) => this.revoke(id, terminate),
      rateLimit: () => void this.rates.refresh().catch((err: unknown) => this.log.warn({ err }, 'could not read the rate limits')),
    }, this.log);
    await this.control.listen();
    if (this.state !== 'starting') return; // stop() was called meanwhile
    this.state = 'running';
    await this.presence.online({ node: this.name, queues: this.queues, concurrency: this.concurrency });
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed')), cfg.heartbeatMs);
    this.keepaliveTimer = setInterval(() => void this.presence.keepAlive(this.heldJobs()), Math.max(50, Math.floor(cfg.stallIntervalMs / 2)));
    if (this.autoscale) {
      this.autoscaler = new Autoscaler(this, this.autoscale, this.log);
      this.autoscaler.start();
    }
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

  /** Autoscale: one more slot (and pool child). */
  async grow(): Promise<void> {
    if (this.executor instanceof ChildPool) await this.executor.grow();
    this.concurrency++;
    this.host.pump();
  }

  /** Autoscale: one slot (and pool child) less. */
  async shrink(): Promise<void> {
    this.concurrency--;
    if (this.executor instanceof ChildPool) await this.executor.shrink();
  }

  /**
   * A job was revoked. Held here but not started (prefetched, waiting for a rate slot): dropped and
   * recorded REVOKED. Running, with terminate: its child is killed, or its signal aborted (async).
   */
  private revoke(id: string, terminate: boolean): void {
    const held = this.reserved.findIndex((r) => r.job.id === id);
    const waiting = this.slotWaits.get(id);
    if (held >= 0 || waiting) {
      const { consumer, job } = held >= 0 ? (this.reserved.splice(held, 1)[0] as { consumer: QueueConsumer; job: TakenJob }) : (waiting as { consumer: QueueConsumer; job: TakenJob });
      if (waiting) {
        clearTimeout(waiting.timer);
        this.slotWaits.delete(id);
      }
      const attempt: Attempt = { id, queue: consumer.queue, record: undefined, taskName: peekTaskName(job.raw), outcome: { kind: 'revoked', reason: 'revoked' }, runtimeMs: 0 };
      this.recorder.record(consumer.queue, job, attempt);
      this.log.info({ jobId: id }, 'revoked: dropped before it started');
      this.host.pump();
      return;
    }
    const entry = this.running.get(id);
    if (!entry || !terminate) return;
    entry.revoked = true;
    const reason = new Revoked(`task ${id} was revoked (terminate)`);
    if (entry.kill) entry.kill(reason);
    else (entry.controller ??= new AbortController()).abort(reason);
    this.log.info({ jobId: id }, 'revoked: terminating');
  }

  get busy(): number {
    return this.running.size + this.reserved.length + this.slotWaits.size;
  }

  private readonly host: ConsumerHost = {
    claim: () => {
      if (this.state !== 'running') return { now: 0, later: 0 };
      const now = Math.max(0, Math.min(this.concurrency - this.busy - this.claimed, TAKE_BATCH));
      const room = this.concurrency + this.prefetchLimit() - this.busy - this.claimed - now;
      const later = Math.max(0, Math.min(room, TAKE_BATCH - now));
      this.claimed += now + later;
      return { now, later };
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
    rateTable: () => this.rates.value,
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

  /**
   * How many jobs beyond its slots the node may hold, so the next batch is already here when slots
   * free up (Redis and the node then work at the same time). Only while tasks are short: a held job
   * waits for a slot, and long tasks are better left in the queue for idle nodes.
   */
  private prefetchLimit(): number {
    if (this.options.prefetch !== undefined) return this.options.prefetch;
    return this.avgRuntimeMs !== undefined && this.avgRuntimeMs < PREFETCH_BELOW_MS ? this.concurrency : 0;
  }

  private execute(consumer: QueueConsumer, job: TakenJob): void {
    if (!job.started) {
      job.started = true;
      job.startedAt = Date.now();
      this.recorder.started(consumer.queue, job);
    }
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
      progress: (value) => this.recorder.progress(job.id, q, job.startedAt, value),
    });
    if (entry.abandoned) return;
    if (entry.revoked) attempt.outcome = { kind: 'revoked', reason: 'terminated' };
    this.recorder.record(q, job, attempt);
    if (attempt.lingering) {
      // Recorded already, but its code still runs here: keep its slot until it really ends.
      entry.lingering = true;
      this.log.warn({ jobId: job.id, task: attempt.taskName }, 'hard time limit passed; the task ignores its signal and keeps running (async pool)');
      await attempt.lingering;
    }
  }

  private recorded(job: TakenJob, attempt: Attempt): void {
    const outcome = attempt.outcome;
    this.avgRuntimeMs = this.avgRuntimeMs === undefined ? attempt.runtimeMs : this.avgRuntimeMs * 0.9 + attempt.runtimeMs * 0.1;
    this.stats.processed++;
    if (outcome.kind === 'success') this.stats.succeeded++;
    else if (outcome.kind === 'retry') this.stats.retried++;
    else {
      this.stats.failed++;
      if (outcome.kind === 'failure') this.log.warn({ jobId: job.id, task: attempt.taskName, reason: outcome.reason, error: outcome.error.message }, 'task failed');
    }
    this.emit('job-finished', job.id, outcome.kind);
  }

  private checkIdle(): void {
    if (this.isIdle()) this.emit('idle');
  }

  private isIdle(): boolean {
    return (
      this.running.size === 0 &&
      this.reserved.length === 0 &&
      this.slotWaits.size === 0 &&
      (this.recorder?.idle ?? true)
    );
  }

  /** Every job this node holds in an `active` list: running, recorded soon, reserved, waiting for a rate slot. */
  private *heldJobs(): Iterable<[id: string, queue: string]> {
    for (const r of this.running.values()) yield [r.job.id, r.consumer.queue];
    yield* this.recorder.unrecordedJobs();
    for (const r of this.reserved) yield [r.job.id, r.consumer.queue];
    for (const r of this.slotWaits.values()) yield [r.job.id, r.consumer.queue];
  }

  private async heartbeat(): Promise<void> {
    // A missed rate_limit message (reconnect) is caught up here.
    await this.rates.refresh();
    await this.presence.heartbeat({ node: this.name, queues: this.queues, concurrency: this.concurrency, ...this.stats });
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
    const started = await (this.starting ?? Promise.resolve()).then(
      () => true,
      () => false,
    );
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['stop fetching', () => Promise.all(this.consumers.map((c) => c.stopFetching()))],
      ['drain', async () => started && this.drain(timeoutMs)],
      ['stop timers', async () => {
        this.autoscaler?.stop();
        clearInterval(this.heartbeatTimer);
        clearInterval(this.keepaliveTimer);
      }],
      ['close queues', () => Promise.all(this.consumers.map((c) => c.close()))],
      ['close control', async () => this.control?.close()],
      ['close pool', () => this.executor.close()],
      ['announce offline', async () => {
        // A node that never came up (Redis down, bad app) announced nothing and has nothing to withdraw.
        if (started) await this.presence.offline({ node: this.name, queues: this.queues, concurrency: this.concurrency, ...this.stats });
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
    const requeues: Promise<unknown>[] = [];
    for (const w of this.slotWaits.values()) clearTimeout(w.timer);
    const waiting = [...this.reserved, ...this.slotWaits.values()].map((x) => ({ ...x, controller: undefined, abandoned: false, revoked: false }));
    this.slotWaits.clear();
    for (const r of [...this.running.values(), ...waiting]) {
      if ('lingering' in r && r.lingering) continue; // already recorded and out of `active`
      r.abandoned = true;
      const k = this.app.keys;
      requeues.push(runScript(this.client, 'taskqRequeue', [k.queue(r.consumer.queue, 'active'), k.queue(r.consumer.queue, 'waiting')], [r.job.id]));
    }
    this.reserved.length = 0;
    await Promise.all(requeues);
    this.log.warn({ jobs: [...this.running.keys()] }, 'jobs still running at shutdown were returned to their queues');
  }
}
