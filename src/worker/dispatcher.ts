/**
 * A node's slots: which deliveries run now or are held (prefetched, waiting for a rate slot), how each
 * is started, run, recorded, or given back at shutdown. Queue consumers claim room here.
 */
import { EventEmitter } from 'node:events';
import { deliveryEntry } from '../broker/delivery.js';
import { Revoked, toError, WorkerShutdown } from '../errors.js';
import { startHeld, stopRunning } from './held-start.js';
import { taskNameOf } from '../broker/message.js';
import { internalFailure, runJob, unrunAttempt, type RunJobInput } from './job-runner.js';
import { acknowledgedEarly, afterRun, shutdownFailure } from './acknowledgement.js';
import { OutcomeLedger } from './outcome-ledger.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { GiveBack, HeldJobs } from './held-jobs.js';
import type { Claim, ConsumerHost, QueueConsumer, TakenJob } from './queue-consumer.js';
import type { DispatcherDeps, JobsSnapshot, Running } from './worker-types.js';
import { markEarlyAcks } from './early-ack-mark.js';
import { jobInfo } from './job-info.js';

/** Most jobs one take script call hands over. */
const TAKE_BATCH = 100;

/** Events: 'job-finished' (id, outcome kind, 'dropped' or 'requeued'), 'idle', 'trouble' (problem or undefined). */
export class Dispatcher extends EventEmitter {
  /** Deliveries whose handler runs now (or is about to start), by `active` entry. */
  private readonly running = new Map<string, Running>();
  /** Deliveries taken but not started: beyond the free slots, or waiting for their rate slot. */
  private readonly held = new HeldJobs();
  private readonly giveBack: GiveBack;
  /** Writes outcomes; at shutdown the node gives up writes Redis keeps refusing (`abandon`). */
  readonly recorder: OutcomeRecorder;
  private pumpScheduled = false;
  /** The node's time limits, as every job's run reads them (the same object each time; remote control changes `byTask` in place). */
  private limits: RunJobInput['limits'];
  private claimed = 0;
  /** Counts, run times and write health of the recorded outcomes. */
  readonly ledger: OutcomeLedger;
  /** Taking is on (the node runs, and nothing keeps it from recording outcomes). */
  taking = false;
  /** The last take filled every slot it asked for: there may be more waiting (autoscale grows then). */
  backlog = false;

  constructor(private readonly deps: DispatcherDeps) {
    super();
    const { client, app, nodeName, log } = deps;
    this.ledger = new OutcomeLedger(deps.stats, log, deps.options.outcomeTroubleMs);
    this.giveBack = new GiveBack(client, app.keys, log, (id) => {
      this.emit('job-finished', id, 'requeued');
      this.checkIdle();
    });
    this.recorder = new OutcomeRecorder(client, app.keys, app.config, nodeName, log, () => deps.clock.now(), {
      recorded: (job, attempt, code) => {
        this.ledger.recorded(job, attempt, code);
        this.emit('job-finished', job.id, attempt.outcome.kind);
      },
      flushed: () => this.checkIdle(),
      taskEvents: () => this.deps.taskEvents(),
      trouble: (err, since) => {
        const change = this.ledger.trouble(err, since);
        if (change === 'unhealthy') for (const c of this.deps.consumers()) c.interrupt();
        if (change !== 'same') this.emit('trouble', this.problem);
        if (change === 'healthy') this.pump();
      },
    });
  }

  /** Why the node stopped taking work on its own (undefined: it is healthy). */
  get problem(): string | undefined {
    return this.ledger.problem;
  }

  /** The pool cannot run jobs (no child starts), or can again (undefined): meanwhile the node takes nothing and gives back what it holds. */
  poolTrouble(reason: string | undefined): void {
    this.ledger.poolProblem = reason;
    this.emit('trouble', this.problem);
    if (reason === undefined) {
      this.deps.log.warn('the pool runs again: taking work again');
      return this.pump();
    }
    this.deps.log.error(`stopped taking work: ${reason}`);
    for (const c of this.deps.consumers()) c.interrupt();
    void this.giveBack.all(this.held.drain());
  }

  get busy(): number {
    return this.running.size + this.held.size;
  }

  /** What runs and what is held now (inspect active / reserved / scheduled, the USR1 dump). */
  snapshot(): JobsSnapshot {
    return { active: [...this.running.values()].map((r) => jobInfo(r.job, r.consumer.queue, true)), ...this.held.snapshot() };
  }

  readonly host: ConsumerHost = {
    claim: (): Claim => {
      if (!this.taking || this.problem) return { now: 0, later: 0 };
      const concurrency = this.deps.concurrency();
      const now = Math.max(0, Math.min(concurrency - this.busy - this.claimed, TAKE_BATCH));
      const room = concurrency + this.ledger.prefetchLimit(concurrency, this.deps.options.prefetch) - this.busy - this.claimed - now;
      const later = Math.max(0, Math.min(room, TAKE_BATCH - now));
      this.claimed += now + later;
      return { now, later };
    },
    release: (count) => void (this.claimed -= count),
    canWait: () => this.taking && !this.problem && this.busy < this.deps.concurrency(),
    accept: (consumer, jobs) => this.accept(consumer, jobs),
    rateTable: () => this.deps.rates.value,
    now: () => this.deps.clock.now(),
    taskEvents: () => this.deps.taskEvents(),
    pump: () => this.pump(),
  };

  /** Re-evaluates fetching on every queue, once per event-loop turn. */
  pump(): void {
    // Coalesced: the jobs that finish in this turn free their slots first, so the next take asks for all of them at once.
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      // A retry due now that this turn queued goes back to its queue before the next take looks
      // there (in the recorder's own flush, so outcomes still go out together); otherwise the take
      // goes at once, its reply coming back while Redis records the outcomes.
      const pumpAll = (): void => {
        for (const c of this.deps.consumers()) c.pump();
      };
      if (this.recorder.retryDueNow) this.recorder.afterFlush(pumpAll);
      else pumpAll();
    });
  }

  private accept(consumer: QueueConsumer, jobs: TakenJob[]): void {
    const now = this.deps.clock.now();
    const epoch = this.deps.control()?.epoch;
    if (this.busy + jobs.length >= this.deps.concurrency()) this.backlog = true;
    markEarlyAcks(this.deps.client, this.deps.app, consumer.queue, jobs.filter((j) => j.epoch === undefined), this.deps.log); // first accept only
    for (const job of jobs) {
      job.epoch ??= epoch;
      this.ledger.received(job);
      if (job.notBefore > now) this.held.waitForSlot({ consumer, job }, job.notBefore - now, (h) => this.accept(h.consumer, [{ ...h.job, notBefore: 0 }]));
      else if (this.running.size < this.deps.concurrency()) this.execute(consumer, job);
      else this.held.reserve({ consumer, job });
    }
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
    if (!job.started) {
      const verdict = await startHeld(entry, { recorder: this.recorder, clock: this.deps.clock, control: this.deps.control() });
      if (entry.abandoned) return;
      if (verdict !== 'ok') {
        this.ledger.dropped(job, verdict);
        return void this.emit('job-finished', job.id, 'dropped');
      }
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
      limits: (this.limits ??= { timeLimitMs: this.deps.options.timeLimitMs, softTimeLimitMs: this.deps.options.softTimeLimitMs, byTask: this.deps.limitOverrides }),
      appOrigin: this.deps.options.appOrigin ?? 'this app',
      progress: async (value, state) => {
        await this.recorder.progress(q, job, value, state);
      },
    });
    if (entry.abandoned) return;
    const next = afterRun(attempt, job.raw, this.deps.app.tasks.get(attempt.taskName), entry.shutdown, this.deps.app.config.maxStalls);
    if (next.kind === 'give-back') {
      // Cut short by the shutdown, no pool child could take it, or (rejectOnWorkerLost) its child died: it runs again.
      if (next.lost) this.deps.log.warn({ jobId: job.id, task: attempt.taskName, losses: next.losses }, 'its pool child died under it; given back to its queue (rejectOnWorkerLost)');
      entry.abandoned = true;
      await this.giveBack.all([entry], next.lost);
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
    this.recorder.record(consumer.queue, job, unrunAttempt(job, consumer.queue, internalFailure(job.id, err)));
  }

  /** A job was revoked. Held here, not started: dropped, recorded REVOKED. Running, with terminate: stopped. */
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
      stopRunning(entry, new Revoked(`task ${id} was revoked (terminate)`));
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
    return owned === 0 && this.held.size === 0 && this.giveBack.pending === 0 && this.recorder.idle;
  }

  /** Every `active` entry this node holds: running, recorded soon, reserved, waiting for a rate slot. */
  *heldEntries(): Iterable<[entry: string, queue: string]> {
    for (const [key, r] of this.running) yield [key, r.consumer.queue];
    yield* this.recorder.unrecordedEntries();
    yield* this.held.entries();
  }

  /** Shutdown, first step: jobs held but not started go back to their queue at once. */
  async returnHeld(): Promise<void> {
    this.taking = false;
    await this.giveBack.all(this.held.drain());
  }

  /** Running jobs this node still owns and can stop (not lingering past a hard limit, not given up). */
  live(): Running[] {
    return [...this.running.values()].filter((r) => !r.lingering && !r.abandoned);
  }

  /**
   * Shutdown: aborts running jobs with WorkerShutdown (each goes back to its queue when it ends) —
   * all of them, or only those of tasks that run until stopped (`untilStopped`). Returns them.
   */
  abortForShutdown(only: 'all' | 'untilStopped'): Running[] {
    const aborted = this.live().filter((r) => only === 'all' || this.deps.app.tasks.get(taskNameOf(r.job.raw) ?? '')?.untilStopped);
    for (const r of aborted) {
      r.shutdown = true;
      stopRunning(r, new WorkerShutdown(), false);
    }
    return aborted;
  }

  /**
   * Shutdown, last resort: running jobs are given back as they run (their late outcome is not
   * theirs) — except those acknowledged early, which fail (at most once).
   */
  async giveBackRunning(entries: Running[]): Promise<void> {
    const back: Running[] = [];
    for (const r of entries) {
      if (r.recorded || r.abandoned) continue;
      r.abandoned = true;
      if (acknowledgedEarly(r.job.raw, this.deps.app.tasks.get(taskNameOf(r.job.raw) ?? ''))) {
        r.recorded = true;
        this.recorder.record(r.consumer.queue, r.job, unrunAttempt(r.job, r.consumer.queue, shutdownFailure()));
      } else {
        back.push(r);
      }
    }
    await this.giveBack.all(back);
  }
}

