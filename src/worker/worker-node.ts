/**
 * A worker node: consumes some queues of an app with a node-wide concurrency (the slots live in
 * `Dispatcher`), keeps the deliveries it holds proven alive for the stall checks, announces itself
 * with heartbeats, and shuts down warm (finish running jobs) or, past its timeout, aborts jobs and
 * gives them back to their queue, so nothing is failed by a shutdown and nothing stays in `active`.
 */
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { App } from '../core/app.js';
import { defaults } from '../defaults.js';
import { OptionError } from '../errors.js';
import { assertQueueName } from '../broker/keys.js';
import { nodeNameProblem } from './node-names.js';
import { slotsOf } from './node-options.js';
import type { Redis } from '../broker/redis-factory.js';
import { AsyncExecutor, type Executor } from './executor.js';
import { ChildPool } from './pool/child-pool.js';
import { openExecutor } from './pool/open-pool.js';
import { QueueConsumer } from './queue-consumer.js';
import { ConsumerSet } from './consumer-set.js';
import { RateTable } from './rate-table.js';
import { ControlListener } from './control-listener.js';
import { Presence } from './presence.js';
import { Autoscaler, type Scalable } from './autoscaler.js';
import { Dispatcher } from './dispatcher.js';
import { drain, runSteps } from './shutdown-steps.js';
import { ControlResponder, type ControlTarget, type TaskLimits } from './control-responder.js';
import { RedisClock } from './redis-clock.js';
import { logRedisHealth } from './redis-health-log.js';
import type { JobsSnapshot, WorkerNodeOptions, WorkerStats } from './worker-types.js';

export type { WorkerNodeOptions, WorkerStats } from './worker-types.js';

/** Events: 'job-finished' (id, outcome kind | 'dropped' | 'requeued'), 'idle'; errors are logged, never emitted. */
export class WorkerNode extends EventEmitter implements Scalable, ControlTarget {
  readonly name: string;
  readonly queues: string[];
  /** Per-task time limits set by remote control (`taskq control time_limit`). */
  readonly limitOverrides = new Map<string, TaskLimits>();
  private readonly startedAt = Date.now();
  /** Jobs run at once now (between autoscale min and max when autoscaling). */
  concurrency: number;
  private autoscale: { min: number; max: number } | undefined;
  private autoscaler: Autoscaler | undefined;
  private readonly log: Logger;
  private readonly shutdownTimeoutMs: number;
  private consumerSet!: ConsumerSet;
  private dispatcher!: Dispatcher;
  private rates!: RateTable;
  private presence!: Presence;
  private client!: Redis;
  private clock!: RedisClock;
  private executor: Executor = new AsyncExecutor();
  private control: ControlListener | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopped: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private readonly cold = new AbortController();
  /** Aborted when the node closes its queues: ends what it logs about Redis. */
  private readonly redisWatch = new AbortController();
  private resolveClosed!: () => void;
  /** Resolves once the node has stopped (after `stop()`, whoever called it). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));
  readonly stats: WorkerStats = { active: 0, processed: 0, succeeded: 0, failed: 0, retried: 0, lost: 0 };
  /** Task events on now (-E; `setTaskEvents`, enable_events / disable_events switch them), never without the app's events. */
  taskEvents: boolean;

  constructor(
    readonly app: App,
    private readonly options: WorkerNodeOptions = {},
  ) {
    super();
    ({ concurrency: this.concurrency, autoscale: this.autoscale } = slotsOf(options));
    this.queues = [...new Set(options.queues?.length ? options.queues : app.knownQueues())];
    for (const q of this.queues) assertQueueName(q, 'the worker queues (-Q)');
    this.name = options.name ?? `worker${process.pid}@${hostname()}`;
    const badName = nodeNameProblem(this.name);
    if (badName) throw new OptionError(badName);
    this.log = (options.logger ?? pino({ level: 'warn' }, pino.destination(2))).child({ node: this.name });
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? defaults.shutdownTimeoutMs;
    this.taskEvents = app.config.events && (options.taskEvents ?? app.config.taskEvents);
  }

  /** Connects (exit code 69 if Redis is not there), starts consuming, announces worker-online. */
  start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.name} was already started`);
    this.state = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  /** Says when a connection to Redis is lost and when it is back (nothing else would, while Redis is away). */
  private async doStart(): Promise<void> {
    this.client = await this.app.client();
    logRedisHealth(this.app.redis, this.client, this.log, this.redisWatch.signal);
    this.clock = new RedisClock(this.client);
    await this.clock.sync();
    this.executor = await openExecutor(this.options, this.name, this.concurrency, this.log);
    this.presence = new Presence(this.app, this.client, this.log, () => this.clock.now());
    this.rates = new RateTable(this.client, this.app.keys, this.app.tasks, this.log);
    this.dispatcher = this.createDispatcher();
    await this.client.sadd(this.app.keys.queues, ...this.queues);
    await this.rates.refresh();
    const make = (queue: string): QueueConsumer => new QueueConsumer(queue, this.dispatcher.host, this.app.keys, this.app.config, this.client, this.app.redis, this.log, this.name);
    this.consumerSet = new ConsumerSet(this.queues, make, (queue) => this.client.sadd(this.app.keys.queues, queue));
    await this.consumerSet.startAll();
    const responder = new ControlResponder(this, this.client, this.log);
    this.control = new ControlListener(this.app.redis, this.app.keys.control, `${this.name}:control`, {
      revoke: (id, terminate) => this.revoke(id, terminate),
      rateLimit: () => void this.refreshRates().catch((err: unknown) => this.log.warn({ err }, 'could not read the rate limits')),
      call: (request) => void responder.serve(request).catch((err: unknown) => this.log.warn({ err, method: request.method }, 'could not answer a control request')),
    }, this.log);
    await this.control.listen();
    if (this.state !== 'starting') return; // stop() was called meanwhile
    await this.goLive();
  }

  /** The slots, wired to this node's events, pool health and heartbeat. */
  private createDispatcher(): Dispatcher {
    const dispatcher = new Dispatcher({
      app: this.app,
      client: this.client,
      executor: this.executor,
      rates: this.rates,
      nodeName: this.name,
      log: this.log,
      options: this.options,
      stats: this.stats,
      concurrency: () => this.concurrency,
      consumers: () => this.consumers,
      clock: this.clock,
      control: () => this.control,
      taskEvents: () => this.taskEvents,
      limitOverrides: this.limitOverrides,
    });
    dispatcher.on('job-finished', (id: string, kind: string) => this.emit('job-finished', id, kind));
    dispatcher.on('idle', () => this.emit('idle'));
    dispatcher.on('trouble', () => void this.heartbeat().catch(() => {}));
    if (this.executor instanceof ChildPool) {
      this.executor.on('unhealthy', (reason: string) => dispatcher.poolTrouble(reason));
      this.executor.on('healthy', () => dispatcher.poolTrouble(undefined));
    }
    return dispatcher;
  }

  /** Takes work, announces the node, and starts its timers. */
  private async goLive(): Promise<void> {
    const cfg = this.app.config;
    this.state = 'running';
    this.dispatcher.taking = true;
    await this.presence.online({ node: this.name, queues: this.queues, concurrency: this.concurrency });
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed')), cfg.heartbeatMs);
    // A third of the interval: stall checks come at least 3/4 of one apart (stalls.lua), so a live
    // node unmarks its jobs between any two of them with room to spare.
    this.keepaliveTimer = setInterval(() => void this.presence.keepAlive(this.dispatcher.heldEntries()), Math.max(50, Math.floor(cfg.stallIntervalMs / 3)));
    if (this.autoscale) {
      this.autoscaler = new Autoscaler(this, this.autoscale, this.log);
      this.autoscaler.start();
    }
    this.log.info({ queues: this.queues, concurrency: this.concurrency, taskEvents: this.taskEvents }, 'worker ready');
    this.dispatcher.pump();
  }

  /** Autoscale: the last take filled every slot it asked for. */
  get backlog(): boolean {
    return this.dispatcher?.backlog ?? false;
  }

  set backlog(value: boolean) {
    if (this.dispatcher) this.dispatcher.backlog = value;
  }

  get busy(): number {
    return this.dispatcher?.busy ?? 0;
  }

  /** Log files were rotated (USR2): pool children open theirs again (the node's own logger is its owner's). */
  reopenLogs(): void {
    if (this.executor instanceof ChildPool) this.executor.reopenLogs();
  }

  /** Remote control: start consuming `queue` (Celery's add_consumer); false if it already does. */
  async addConsumer(queue: string): Promise<boolean> {
    const added = this.state === 'running' && (await this.consumerSet.add(queue));
    if (added) this.dispatcher.pump();
    return added;
  }

  /** Remote control: stop taking from `queue` (its running jobs finish); false if it did not. */
  cancelConsumer(queue: string): Promise<boolean> {
    return this.consumerSet.cancel(queue);
  }

  private get consumers(): QueueConsumer[] {
    return this.consumerSet?.list ?? [];
  }

  /** Remote control: autoscale between `min` and `max` slots from now on. */
  setAutoscale(max: number, min: number): void {
    const range = slotsOf({ autoscale: { max, min } }).autoscale as { min: number; max: number };
    this.autoscaler?.stop();
    this.autoscale = range;
    this.autoscaler = new Autoscaler(this, range, this.log);
    if (this.state === 'running') this.autoscaler.start();
  }

  setTaskEvents = (on: boolean): boolean => (this.taskEvents = on && this.app.config.events);
  refreshRates = (): Promise<void> => this.rates.refresh();
  revoke = (id: string, terminate: boolean): void => this.dispatcher.revoke(id, terminate);

  /** The ids revoked lately (inspect revoked). */
  revokedIds(): string[] {
    return this.control?.recentRevokes() ?? [];
  }

  /** inspect stats, beyond what the process itself tells. */
  describe(): ReturnType<ControlTarget['describe']> {
    return { uptimeMs: Date.now() - this.startedAt, pool: { kind: this.executor.kind, concurrency: this.concurrency, autoscale: this.autoscale, prefetch: this.options.prefetch ?? 'adaptive' }, taskEvents: this.taskEvents, totals: Object.fromEntries(this.dispatcher.ledger.totals), problem: this.dispatcher.problem };
  }

  /** What this node runs and holds now. */
  jobs(): JobsSnapshot {
    return this.dispatcher?.snapshot() ?? { active: [], reserved: [], scheduled: [] };
  }

  /** Autoscale: one more slot (and pool child). */
  async grow(): Promise<void> {
    if (this.executor instanceof ChildPool) await this.executor.grow();
    this.concurrency++;
    this.dispatcher.pump();
  }

  /** Autoscale: one slot (and pool child) less. */
  async shrink(): Promise<void> {
    this.concurrency--;
    if (this.executor instanceof ChildPool) await this.executor.shrink();
  }

  private async heartbeat(): Promise<void> {
    // A missed rate_limit message (reconnect) is caught up here; the clock offset is kept fresh.
    await Promise.all([this.rates.refresh(), this.clock.sync()]);
    await this.presence.heartbeat({ node: this.name, queues: this.queues, concurrency: this.concurrency, ...this.stats, problem: this.dispatcher.problem, taskEvents: this.taskEvents });
  }

  /**
   * Warm shutdown: stop fetching, give held (not started) jobs back, let running jobs finish and
   * record them. After `timeoutMs` (default: the node's shutdownTimeoutMs) running jobs are aborted
   * with WorkerShutdown and go back to the front of their queue; jobs that have not ended a grace
   * period later are given back as they run. `timeoutMs: 0` (or a second call with it) is a cold
   * shutdown: abort and give back at once. Idempotent: every call returns the same promise.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
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
    const drainLimitMs = timeoutMs + 2 * defaults.shutdownGraceMs + defaults.shutdownStepMs;
    const steps: Array<[string, () => Promise<unknown>, number?]> = [
      ['stop fetching', () => Promise.all(this.consumers.map((c) => c.stopFetching()))],
      ['return held jobs', async () => started && this.dispatcher.returnHeld()],
      // The drain bounds itself (timeout, then grace); its limit only cuts a wait on an unreachable Redis.
      ['drain', async () => started && drain(this.dispatcher, this.cold.signal, timeoutMs, this.log), drainLimitMs],
      // Their jobs stay in `active`: the stall check re-delivers them once this node is gone.
      ['give up unwritable outcomes', async () => started && this.dispatcher.recorder.abandon()],
      ['stop timers', async () => [this.autoscaler?.stop(), clearInterval(this.heartbeatTimer), clearInterval(this.keepaliveTimer)]],
      ['close queues', () => {
        this.redisWatch.abort();
        return Promise.all(this.consumers.map((c) => c.close()));
      }],
      ['close control', async () => this.control?.close()],
      ['close pool', () => this.executor.close(), drainLimitMs],
      ['announce offline', async () => {
        // A node that never came up (Redis down, bad app) announced nothing and has nothing to withdraw.
        if (started) await this.presence.offline({ node: this.name, queues: this.queues, concurrency: this.concurrency, ...this.stats });
      }],
    ];
    await runSteps(steps, this.log);
    this.state = 'stopped';
    if (started) this.log.info(this.stats, 'worker stopped');
    this.resolveClosed();
  }
}
