/**
 * A node's slots: which deliveries run now, which are held (prefetched beyond the free slots, or
 * waiting for their rate-limit slot), how each is started, run and recorded, and how they are given
 * back at shutdown. The node's queue consumers claim room here and hand over what they take.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { deliveryEntry } from '../broker/delivery.js';
import type { Redis } from '../broker/redis-factory.js';
import type { App } from '../core/app.js';
import { Revoked, TaskqError, toError, WorkerShutdown } from '../core/errors.js';
import { errorInfo, peekTaskName } from '../core/message.js';
import type { ControlListener } from './control-listener.js';
import { peekOptions } from './outcome.js';
import type { RedisClock } from './redis-clock.js';
import type { Executor } from './executor.js';
import { runJob, unrunAttempt } from './job-runner.js';
import { OutcomeLedger } from './outcome-ledger.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { giveBack, HeldJobs, type Held } from './held-jobs.js';
import type { Claim, ConsumerHost, QueueConsumer, TakenJob } from './queue-consumer.js';
import type { RateTable } from './rate-table.js';
import type { Running, WorkerNodeOptions, WorkerStats } from './worker-types.js';

/** Prefetch (see prefetchLimit) while tasks take less than this on average (ms). */
const PREFETCH_BELOW_MS = 5;
/** Most jobs one take script call hands over. */
const TAKE_BATCH = 100;
/** A held job due to expire sooner than this waits for Redis's verdict before it starts (ms). */
const EXPIRY_MARGIN_MS = 1000;

export interface DispatcherDeps {
  app: App;
  client: Redis;
  executor: Executor;
  rates: RateTable;
  nodeName: string;
  log: Logger;
  options: WorkerNodeOptions;
  stats: WorkerStats;
  /** The node's slots now (autoscale changes it). */
  concurrency: () => number;
  /** Consumers to pump when room frees up. */
  consumers: () => readonly QueueConsumer[];
  /** Redis's time as this node reads it. */
  clock: RedisClock;
  /** The control subscription (revokes), once listening. */
  control: () => ControlListener | undefined;
}

/** Events: 'job-finished' (id, outcome kind or 'dropped'), 'idle', 'trouble' (problem text or undefined). */
export class Dispatcher extends EventEmitter {
  /** Deliveries whose handler runs now (or is about to start), by `active` entry. */
  private readonly running = new Map<string, Running>();
  /** Deliveries taken but not started: beyond the free slots, or waiting for their rate slot. */
  private readonly held = new HeldJobs();
  /** Requeue calls under way (shutdown). */
  private requeuing = 0;
  private readonly recorder: OutcomeRecorder;
  private pumpScheduled = false;
  private claimed = 0;
  private readonly ledger: OutcomeLedger;
  /** Taking is on (the node runs, and nothing keeps it from recording outcomes). */
  taking = false;
  /** The last take filled every slot it asked for: there may be more waiting (autoscale grows then). */
  backlog = false;

  constructor(private readonly deps: DispatcherDeps) {
    super();
    const { client, app, nodeName, log } = deps;
    this.ledger = new OutcomeLedger(deps.stats, log);
    this.recorder = new OutcomeRecorder(client, app.keys, app.config, nodeName, log, () => deps.clock.now(), {
      recorded: (job, attempt, code) => {
        this.ledger.recorded(job, attempt, code);
        this.emit('job-finished', job.id, attempt.outcome.kind);
      },
      flushed: () => this.checkIdle(),
      trouble: (err, since) => {
        const change = this.ledger.trouble(err, since);
        if (change !== 'same') this.emit('trouble', this.ledger.problem);
        if (change === 'healthy') this.pump();
      },
    });
  }

  /** Why the node stopped taking work on its own (undefined: it is healthy). */
  get problem(): string | undefined {
    return this.ledger.problem;
  }

  get busy(): number {
    return this.running.size + this.held.size;
  }

  readonly host: ConsumerHost = {
    claim: (): Claim => {
      if (!this.taking || this.problem) return { now: 0, later: 0 };
      const concurrency = this.deps.concurrency();
      const now = Math.max(0, Math.min(concurrency - this.busy - this.claimed, TAKE_BATCH));
      const room = concurrency + this.prefetchLimit() - this.busy - this.claimed - now;
      const later = Math.max(0, Math.min(room, TAKE_BATCH - now));
      this.claimed += now + later;
      return { now, later };
    },
    release: (count) => {
      this.claimed -= count;
    },
    canWait: () => this.taking && !this.problem && this.busy < this.deps.concurrency(),
    accept: (consumer, jobs) => this.accept(consumer, jobs),
    rateTable: () => this.deps.rates.value,
    now: () => this.deps.clock.now(),
    pump: () => this.pump(),
  };

  /** Re-evaluates fetching on every queue, once per event-loop turn. */
  pump(): void {
    // Coalesced: the jobs that finish in this turn free their slots first, so the next take asks
    // for all of them at once instead of one slot at a time.
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.recorder.flushPending();
      for (const c of this.deps.consumers()) c.pump();
    });
  }

  private accept(consumer: QueueConsumer, jobs: TakenJob[]): void {
    const now = this.deps.clock.now();
    const epoch = this.deps.control()?.epoch;
    if (this.busy + jobs.length >= this.deps.concurrency()) this.backlog = true;
    for (const job of jobs) {
      job.epoch ??= epoch;
      if (job.notBefore > now) this.held.waitForSlot({ consumer, job }, job.notBefore - now, (h) => this.accept(h.consumer, [{ ...h.job, notBefore: 0 }]));
      else if (this.running.size < this.deps.concurrency()) this.execute(consumer, job);
      else this.held.reserve({ consumer, job });
    }
  }

  /**
   * How many jobs beyond its slots the node may hold, so the next batch is already here when slots
   * free up (Redis and the node then work at the same time). Only while tasks are short: a held job
   * waits for a slot, and long tasks are better left in the queue for idle nodes.
   */
  private prefetchLimit(): number {
    if (this.deps.options.prefetch !== undefined) return this.deps.options.prefetch;
    const avg = this.ledger.avgRuntimeMs;
    return avg !== undefined && avg < PREFETCH_BELOW_MS ? this.deps.concurrency() : 0;
  }

  private execute(consumer: QueueConsumer, job: TakenJob): void {
    const entry: Running = { job, consumer, controller: undefined, abandoned: false, revoked: false, shutdown: false };
    const key = deliveryEntry(job.token, job.id);
    this.running.set(key, entry);
    this.deps.stats.active = this.running.size;
    this.process(entry)
      .catch((err: unknown) => this.failInside(entry, toError(err)))
      .finally(() => {
        this.running.delete(key);
        this.deps.stats.active = this.running.size;
        const next = this.taking ? this.held.next() : undefined;
        if (next) this.execute(next.consumer, next.job);
        this.pump();
        this.checkIdle();
      });
  }

  private async process(entry: Running): Promise<void> {
    const { job, consumer } = entry;
    const q = consumer.queue;
    if (!job.started && !(await this.startHeld(entry))) return;
    const attempt = await runJob({
      id: job.id,
      queue: q,
      raw: job.raw,
      node: this.deps.nodeName,
      tasks: this.deps.app.tasks,
      log: this.deps.log,
      signal: () => (entry.controller ??= new AbortController()).signal,
      abort: (reason) => (entry.controller ??= new AbortController()).abort(reason),
      executor: this.deps.executor,
      onExecution: (execution) => {
        if (execution.kill) entry.kill = execution.kill;
      },
      limits: { timeLimitMs: this.deps.options.timeLimitMs, softTimeLimitMs: this.deps.options.softTimeLimitMs },
      appOrigin: this.deps.options.appOrigin ?? 'this app',
      progress: async (value) => {
        await this.recorder.progress(q, job, value);
      },
    });
    if (entry.abandoned) return;
    if (entry.shutdown && attempt.outcome.kind !== 'success') {
      // Aborted by the shutdown timeout: not the job's fault. It runs again elsewhere.
      entry.abandoned = true;
      await this.requeue(entry);
      return;
    }
    if (entry.revoked) attempt.outcome = { kind: 'revoked', reason: 'terminated' };
    entry.recorded = true;
    this.recorder.record(q, job, attempt);
    if (attempt.lingering) {
      // Recorded already, but its code still runs here: keep its slot until it really ends.
      entry.lingering = true;
      this.deps.log.warn({ jobId: job.id, task: attempt.taskName }, 'hard time limit passed; the task ignores its signal and keeps running (async pool)');
      await attempt.lingering;
    }
  }

  /**
   * A held job starts: revocation and expiry are checked now, not only when it was taken. When this
   * node has surely heard every revoke since the take (its control subscription never dropped, no
   * revoke for the job came in) and the job is not about to expire, it starts at once and the check
   * rides with the next finish call (stopping it if Redis says otherwise); else it waits for Redis.
   */
  private async startHeld(entry: Running): Promise<boolean> {
    const { job, consumer } = entry;
    const { clock, control } = this.deps;
    job.startedAt = clock.now();
    const expires = peekOptions(job.raw).expires;
    const control_ = control();
    const heard = control_ !== undefined && job.epoch !== undefined && control_.intactSince(job.epoch) && !control_.revokedLately(job.id);
    if (heard && (expires === undefined || expires > job.startedAt + EXPIRY_MARGIN_MS)) {
      job.started = true;
      void this.recorder.start(consumer.queue, job, false).then((verdict) => {
        if (verdict === 'ok' || !this.running.has(deliveryEntry(job.token, job.id)) || entry.recorded) return;
        entry.revoked = true;
        const reason = new Revoked(`task ${job.id} was ${verdict === 'expired' ? 'expired' : 'revoked'} before it started`);
        if (entry.kill) entry.kill(reason);
        else (entry.controller ??= new AbortController()).abort(reason);
      });
      return true;
    }
    const verdict = await this.recorder.start(consumer.queue, job, true);
    if (entry.abandoned) return false;
    if (verdict !== 'ok') {
      this.deps.log.info({ jobId: job.id, task: peekTaskName(job.raw), verdict }, `not started: ${verdict}`);
      this.emit('job-finished', job.id, 'dropped');
      return false;
    }
    job.started = true;
    return true;
  }

  /** Something in the node itself threw while handling a job: that job fails, with the reason; the node carries on. */
  private failInside(entry: Running, err: Error): void {
    const { job, consumer } = entry;
    this.deps.log.error({ err, jobId: job.id, queue: consumer.queue }, 'job failed inside the worker');
    if (entry.recorded || entry.abandoned) return;
    entry.recorded = true;
    const error = errorInfo(new TaskqError('TASKQ_INTERNAL', `the worker failed while handling job ${job.id}: ${err.message}`, { cause: err }));
    this.recorder.record(consumer.queue, job, unrunAttempt(job, consumer.queue, { kind: 'failure', error, reason: 'worker error' }));
  }

  /**
   * A job was revoked. Held here but not started: dropped and recorded REVOKED. Running, with
   * terminate: its child is killed, or its signal aborted (async).
   */
  revoke(id: string, terminate: boolean): void {
    const held = this.held.remove(id);
    if (held) {
      this.recorder.record(held.consumer.queue, held.job, unrunAttempt(held.job, held.consumer.queue, { kind: 'revoked', reason: 'revoked' }));
      this.deps.log.info({ jobId: id }, 'revoked: dropped before it started');
      this.pump();
      return;
    }
    if (!terminate) return;
    for (const entry of this.running.values()) {
      if (entry.job.id !== id || !entry.job.started) continue;
      entry.revoked = true;
      const reason = new Revoked(`task ${id} was revoked (terminate)`);
      if (entry.kill) entry.kill(reason);
      else (entry.controller ??= new AbortController()).abort(reason);
      this.deps.log.info({ jobId: id }, 'revoked: terminating');
    }
  }

  private checkIdle(): void {
    if (this.isIdle()) this.emit('idle');
  }

  /** Nothing runs that this node still owns (a job given back as it ran is no longer its own), nothing held or unwritten. */
  isIdle(): boolean {
    let owned = 0;
    for (const r of this.running.values()) if (!r.abandoned) owned++;
    return owned === 0 && this.held.size === 0 && this.requeuing === 0 && this.recorder.idle;
  }

  /** Every `active` entry this node holds: running, recorded soon, reserved, waiting for a rate slot. */
  *heldEntries(): Iterable<[entry: string, queue: string]> {
    for (const [key, r] of this.running) yield [key, r.consumer.queue];
    yield* this.recorder.unrecordedEntries();
    yield* this.held.entries();
  }

  /** Gives a delivery back to the front of its queue, at its priority (only while it still owns the job). */
  private async requeue(held: Held): Promise<void> {
    this.requeuing++;
    try {
      const done = await giveBack(this.deps.client, this.deps.app.keys, held);
      this.deps.log.info({ jobId: held.job.id, queue: held.consumer.queue }, done ? 'returned to its queue' : 'not returned: this delivery no longer owned it');
      this.emit('job-finished', held.job.id, 'requeued');
    } finally {
      this.requeuing--;
      this.checkIdle();
    }
  }

  /** Shutdown, first step: jobs held but not started go back to their queue at once. */
  async returnHeld(): Promise<void> {
    this.taking = false;
    // Each goes to the front: the last first, so they keep their order there.
    await Promise.all(this.held.drain().reverse().map((h) => this.requeue(h)));
  }

  /**
   * Shutdown, after the timeout: running jobs are aborted with WorkerShutdown and go back to their
   * queue when they end; those that still run `graceMs` later are returned as they run (their late
   * outcome is then not theirs to record).
   */
  async abortRunning(graceMs: number, idle: () => Promise<void>): Promise<void> {
    const running = [...this.running.values()].filter((r) => !r.lingering);
    this.deps.log.warn({ running: running.length }, 'shutdown timeout: aborting running jobs; they go back to their queues');
    for (const r of running) {
      r.shutdown = true;
      (r.controller ??= new AbortController()).abort(new WorkerShutdown());
    }
    if (graceMs > 0 && (await Promise.race([idle().then(() => 'idle'), timeout(graceMs)])) === 'idle') return;
    const stuck = [...this.running.values()].filter((r) => !r.lingering && !r.abandoned);
    for (const r of stuck) r.abandoned = true;
    await Promise.all(stuck.reverse().map((r) => this.requeue(r)));
    if (stuck.length) this.deps.log.warn({ jobs: stuck.map((r) => r.job.id) }, 'jobs still running at shutdown were returned to their queues');
  }
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}
