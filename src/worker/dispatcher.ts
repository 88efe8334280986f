/**
 * A node's slots: which deliveries run now, which are held (prefetched beyond the free slots, or
 * waiting for their rate-limit slot), how each is started, run and recorded, and how they are given
 * back at shutdown. The node's queue consumers claim room here and hand over what they take.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { deliveryEntry } from '../broker/delivery.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { App } from '../core/app.js';
import { defaults } from '../core/defaults.js';
import { Revoked, TaskqError, toError, WorkerShutdown } from '../core/errors.js';
import { errorInfo, peekTaskName } from '../core/message.js';
import type { Executor } from './executor.js';
import { runJob, type Attempt } from './job-runner.js';
import { OutcomeRecorder, type RecordCode } from './outcome-recorder.js';
import type { Claim, ConsumerHost, QueueConsumer, TakenJob } from './queue-consumer.js';
import type { RateTable } from './rate-table.js';
import type { Running, WorkerNodeOptions, WorkerStats } from './worker-types.js';

/** Prefetch (see prefetchLimit) while tasks take less than this on average (ms). */
const PREFETCH_BELOW_MS = 5;
/** Most jobs one take script call hands over. */
const TAKE_BATCH = 100;

interface Held {
  consumer: QueueConsumer;
  job: TakenJob;
}

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
}

/** Events: 'job-finished' (id, outcome kind or 'dropped'), 'idle', 'trouble' (problem text or undefined). */
export class Dispatcher extends EventEmitter {
  /** Deliveries whose handler runs now (or is about to start), by `active` entry. */
  private readonly running = new Map<string, Running>();
  /** Deliveries taken beyond the free slots. */
  private readonly reserved: Held[] = [];
  /** Rate-limited deliveries waiting for their start slot. */
  private readonly slotWaits = new Map<string, Held & { timer: NodeJS.Timeout }>();
  /** Requeue calls under way (shutdown). */
  private requeuing = 0;
  private readonly recorder: OutcomeRecorder;
  private pumpScheduled = false;
  private claimed = 0;
  private avgRuntimeMs: number | undefined;
  /** Taking is on (the node runs, and nothing keeps it from recording outcomes). */
  taking = false;
  /** Why the node stopped taking work on its own (undefined: it is healthy). */
  problem: string | undefined;
  /** The last take filled every slot it asked for: there may be more waiting (autoscale grows then). */
  backlog = false;

  constructor(private readonly deps: DispatcherDeps) {
    super();
    const { client, app, nodeName, log } = deps;
    this.recorder = new OutcomeRecorder(client, app.keys, app.config, nodeName, log, {
      recorded: (job, attempt, code) => this.recorded(job, attempt, code),
      flushed: () => this.checkIdle(),
      trouble: (err, since) => this.trouble(err, since),
    });
  }

  get busy(): number {
    return this.running.size + this.reserved.length + this.slotWaits.size;
  }

  get activeCount(): number {
    return this.running.size;
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
      for (const c of this.deps.consumers()) c.pump();
    });
  }

  private accept(consumer: QueueConsumer, jobs: TakenJob[]): void {
    const now = Date.now();
    if (this.busy + jobs.length >= this.deps.concurrency()) this.backlog = true;
    for (const job of jobs) {
      if (job.notBefore > now) this.waitForSlot(consumer, job, job.notBefore - now);
      else if (this.running.size < this.deps.concurrency()) this.execute(consumer, job);
      else this.reserved.push({ consumer, job });
    }
  }

  /** A rate-limited job starts at its reserved slot (a timer, no polling). */
  private waitForSlot(consumer: QueueConsumer, job: TakenJob, delayMs: number): void {
    const key = deliveryEntry(job.token, job.id);
    const timer = setTimeout(() => {
      this.slotWaits.delete(key);
      this.accept(consumer, [{ ...job, notBefore: 0 }]);
    }, delayMs);
    this.slotWaits.set(key, { consumer, job, timer });
  }

  /**
   * How many jobs beyond its slots the node may hold, so the next batch is already here when slots
   * free up (Redis and the node then work at the same time). Only while tasks are short: a held job
   * waits for a slot, and long tasks are better left in the queue for idle nodes.
   */
  private prefetchLimit(): number {
    if (this.deps.options.prefetch !== undefined) return this.deps.options.prefetch;
    return this.avgRuntimeMs !== undefined && this.avgRuntimeMs < PREFETCH_BELOW_MS ? this.deps.concurrency() : 0;
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
        const next = this.taking ? this.reserved.shift() : undefined;
        if (next) this.execute(next.consumer, next.job);
        this.pump();
        this.checkIdle();
      });
  }

  private async process(entry: Running): Promise<void> {
    const { job, consumer } = entry;
    const q = consumer.queue;
    if (!job.started) {
      // A held job: revocation and expiry are checked now that it really starts.
      job.startedAt = Date.now();
      const verdict = await this.recorder.requestStart(q, job);
      if (entry.abandoned) return;
      if (verdict !== 'ok') {
        this.deps.log.info({ jobId: job.id, task: peekTaskName(job.raw), verdict }, `not started: ${verdict}`);
        this.emit('job-finished', job.id, 'dropped');
        return;
      }
      job.started = true;
    }
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

  /** Something in the node itself threw while handling a job: that job fails, with the reason; the node carries on. */
  private failInside(entry: Running, err: Error): void {
    const { job, consumer } = entry;
    this.deps.log.error({ err, jobId: job.id, queue: consumer.queue }, 'job failed inside the worker');
    if (entry.recorded || entry.abandoned) return;
    entry.recorded = true;
    const error = errorInfo(new TaskqError('TASKQ_INTERNAL', `the worker failed while handling job ${job.id}: ${err.message}`, { cause: err }));
    const attempt: Attempt = { id: job.id, queue: consumer.queue, record: undefined, taskName: peekTaskName(job.raw), outcome: { kind: 'failure', error, reason: 'worker error' }, runtimeMs: 0 };
    this.recorder.record(consumer.queue, job, attempt);
  }

  private recorded(job: TakenJob, attempt: Attempt, code: RecordCode): void {
    const { stats, log } = this.deps;
    const outcome = attempt.outcome;
    this.avgRuntimeMs = this.avgRuntimeMs === undefined ? attempt.runtimeMs : this.avgRuntimeMs * 0.9 + attempt.runtimeMs * 0.1;
    stats.processed++;
    if (code === 'not-owned') {
      stats.lost++;
      log.warn({ jobId: job.id, task: attempt.taskName, outcome: outcome.kind }, 'outcome not recorded: this delivery lost the job (a stall check re-delivered it while it ran here)');
    } else if (code === 'final-kept') {
      log.info({ jobId: job.id, task: attempt.taskName, outcome: outcome.kind }, 'outcome not recorded: the job was already over (final state kept)');
    } else if (code === 'late-success') {
      log.warn({ jobId: job.id, task: attempt.taskName }, 'late success recorded: this delivery had been presumed dead; its re-delivered copy was withdrawn');
    }
    if (outcome.kind === 'success') stats.succeeded++;
    else if (outcome.kind === 'retry') stats.retried++;
    else {
      stats.failed++;
      if (outcome.kind === 'failure') log.warn({ jobId: job.id, task: attempt.taskName, reason: outcome.reason, error: outcome.error.message }, 'task failed');
    }
    this.emit('job-finished', job.id, outcome.kind);
  }

  /** Outcome writes keep failing: after a while the node stops taking work, and says so in its heartbeat. */
  private trouble(err: Error | undefined, sinceMs: number): void {
    if (!err) {
      if (this.problem) this.deps.log.warn('outcome writes work again: taking work again');
      this.problem = undefined;
      this.emit('trouble', undefined);
      this.pump();
      return;
    }
    if (this.problem || Date.now() - sinceMs < defaults.outcomeTroubleMs) return;
    this.problem = `outcome writes failing for ${Math.round((Date.now() - sinceMs) / 1000)} s: ${err.message}`;
    this.deps.log.error({ err }, `stopped taking work: ${this.problem}`);
    this.emit('trouble', this.problem);
  }

  /**
   * A job was revoked. Held here but not started: dropped and recorded REVOKED. Running, with
   * terminate: its child is killed, or its signal aborted (async).
   */
  revoke(id: string, terminate: boolean): void {
    const at = this.reserved.findIndex((r) => r.job.id === id);
    const waiting = [...this.slotWaits].find(([, w]) => w.job.id === id);
    if (at >= 0 || waiting) {
      const held = at >= 0 ? (this.reserved.splice(at, 1)[0] as Held) : (waiting?.[1] as Held & { timer: NodeJS.Timeout });
      if (waiting) {
        clearTimeout(waiting[1].timer);
        this.slotWaits.delete(waiting[0]);
      }
      const attempt: Attempt = { id, queue: held.consumer.queue, record: undefined, taskName: peekTaskName(held.job.raw), outcome: { kind: 'revoked', reason: 'revoked' }, runtimeMs: 0 };
      this.recorder.record(held.consumer.queue, held.job, attempt);
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
    return owned === 0 && this.reserved.length === 0 && this.slotWaits.size === 0 && this.requeuing === 0 && this.recorder.idle;
  }

  /** Every `active` entry this node holds: running, recorded soon, reserved, waiting for a rate slot. */
  *heldEntries(): Iterable<[entry: string, queue: string]> {
    for (const [key, r] of this.running) yield [key, r.consumer.queue];
    yield* this.recorder.unrecordedEntries();
    for (const r of this.reserved) yield [deliveryEntry(r.job.token, r.job.id), r.consumer.queue];
    for (const [key, r] of this.slotWaits) yield [key, r.consumer.queue];
  }

  /** Gives a delivery back to the front of its queue, at its priority (only while it still owns the job). */
  private async requeue(held: Held): Promise<void> {
    const k = this.deps.app.keys;
    const q = held.consumer.queue;
    this.requeuing++;
    try {
      const done = await runScript(this.deps.client, 'taskqRequeue', [k.queue(q, 'active'), k.queue(q, 'waiting'), k.queue(q, 'jobs')], [held.job.id, held.job.token]);
      this.deps.log.info({ jobId: held.job.id, queue: q, requeued: done === 1 }, done === 1 ? 'returned to its queue' : 'not returned: this delivery no longer owned it');
      this.emit('job-finished', held.job.id, 'requeued');
    } finally {
      this.requeuing--;
      this.checkIdle();
    }
  }

  /** Shutdown, first step: jobs held but not started go back to their queue at once. */
  async returnHeld(): Promise<void> {
    this.taking = false;
    for (const w of this.slotWaits.values()) clearTimeout(w.timer);
    const held = [...this.reserved, ...this.slotWaits.values()];
    this.reserved.length = 0;
    this.slotWaits.clear();
    // Each goes to the front: the last first, so they keep their order there.
    await Promise.all(held.reverse().map((h) => this.requeue(h)));
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
      const reason = new WorkerShutdown();
      (r.controller ??= new AbortController()).abort(reason);
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
