/**
 * What a node makes of its recorded outcomes: the counts in its heartbeat, the log line for each
 * outcome that finish.lua did not record as sent (lost ownership, a final state kept), the average
 * run time that decides prefetch, and whether outcome writes keep failing (the node then stops
 * taking work and says why).
 */
import type { Logger } from 'pino';
import { defaults } from '../defaults.js';
import { peekTaskName } from '../broker/message.js';
import type { Attempt } from './job-runner.js';
import type { RecordCode } from './outcome-recorder.js';
import type { TakenJob } from './queue-consumer.js';
import type { WorkerStats } from './worker-types.js';

/** Prefetch while tasks take less than this on average (ms). */
const PREFETCH_BELOW_MS = 5;

function brief(json: string): string {
  return json.length > 200 ? `${json.slice(0, 197)}...` : json;
}

export class OutcomeLedger {
  /** Outcomes recorded per task name (inspect stats). */
  readonly totals = new Map<string, number>();
  /** Moving average of task run times (ms). */
  avgRuntimeMs: number | undefined;
  /** Outcome writes keep failing (undefined: they work). */
  private writeProblem: string | undefined;
  /** The pool cannot run jobs (undefined: it can). */
  poolProblem: string | undefined;

  /** Why the node stopped taking work on its own (undefined: it is healthy). */
  get problem(): string | undefined {
    const all = [this.writeProblem, this.poolProblem].filter(Boolean);
    return all.length ? all.join('; ') : undefined;
  }

  /**
   * How many jobs beyond its slots the node may hold, so the next batch is already there when slots
   * free up (Redis and the node then work at the same time). Only while tasks are short: a held job
   * waits for a slot, and long tasks are better left in the queue for idle nodes.
   */
  prefetchLimit(concurrency: number, option: number | undefined): number {
    if (option !== undefined) return option;
    return this.avgRuntimeMs !== undefined && this.avgRuntimeMs < PREFETCH_BELOW_MS ? concurrency : 0;
  }

  constructor(
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    /** Outcome writes failing this long make the node stop taking work. */
    private readonly troubleAfterMs: number = defaults.outcomeTroubleMs,
  ) {}

  recorded(job: TakenJob, attempt: Attempt, code: RecordCode): void {
    const { stats, log } = this;
    const outcome = attempt.outcome;
    const about = { jobId: job.id, task: attempt.taskName };
    this.avgRuntimeMs = this.avgRuntimeMs === undefined ? attempt.runtimeMs : this.avgRuntimeMs * 0.9 + attempt.runtimeMs * 0.1;
    stats.processed++;
    this.totals.set(attempt.taskName, (this.totals.get(attempt.taskName) ?? 0) + 1);
    if (code === 'not-owned') {
      stats.lost++;
      log.warn({ ...about, outcome: outcome.kind }, 'outcome not recorded: this delivery lost the job (a stall check re-delivered it while it ran here)');
    } else if (code === 'final-kept') {
      log.info({ ...about, outcome: outcome.kind }, 'outcome not recorded: the job was already over (final state kept)');
    } else if (code === 'late-success') {
      log.warn(about, 'late success recorded: this delivery had been presumed dead; its re-delivered copy was withdrawn');
    }
    if (outcome.kind === 'success') stats.succeeded++;
    else if (outcome.kind === 'retry') stats.retried++;
    else stats.failed++;
    if (code === 'recorded' || code === 'late-success') this.tell(job, attempt);
  }

  /** A delivery arrived (Celery's "Task x[id] received"). */
  received(job: TakenJob): void {
    if (!this.log.isLevelEnabled('info')) return;
    const task = peekTaskName(job.raw);
    this.log.info({ task, jobId: job.id }, `Task ${task}[${job.id}] received`);
  }

  /** A held job Redis said must not start (revoked, expired, or over already). */
  dropped(job: TakenJob, verdict: string): void {
    const task = peekTaskName(job.raw);
    this.log.info({ task, jobId: job.id, verdict }, `Task ${task}[${job.id}] not started: ${verdict}`);
  }

  /** The one line per outcome a Celery user reads in a worker's log. */
  private tell(job: TakenJob, attempt: Attempt): void {
    const { log } = this;
    const outcome = attempt.outcome;
    const about = { task: attempt.taskName, jobId: job.id };
    const name = `Task ${attempt.taskName}[${job.id}]`;
    switch (outcome.kind) {
      case 'success':
        if (log.isLevelEnabled('info')) log.info({ ...about, runtimeMs: attempt.runtimeMs }, `${name} succeeded in ${(attempt.runtimeMs / 1000).toFixed(4)}s: ${brief(outcome.resultJson)}`);
        return;
      case 'retry':
        if (log.isLevelEnabled('info')) log.info({ ...about, retryInMs: outcome.delayMs }, `${name} retry: Retry in ${(outcome.delayMs / 1000).toFixed(1)}s: ${outcome.error.name}: ${outcome.error.message}`);
        return;
      case 'failure':
        log.error({ ...about, reason: outcome.reason }, `${name} raised unexpected: ${outcome.error.name}: ${outcome.error.message} (${outcome.reason})`);
        return;
      case 'revoked':
        log.info({ ...about, reason: outcome.reason }, `${name} revoked (${outcome.reason})`);
    }
  }

  /**
   * Outcome writes fail (err) or work again (undefined). Past `outcomeTroubleMs` of failures the node
   * is unhealthy. Returns what changed.
   */
  trouble(err: Error | undefined, sinceMs: number): 'unhealthy' | 'healthy' | 'same' {
    if (!err) {
      if (!this.writeProblem) return 'same';
      this.writeProblem = undefined;
      this.log.warn('outcome writes work again: taking work again');
      return 'healthy';
    }
    if (this.writeProblem || Date.now() - sinceMs < this.troubleAfterMs) return 'same';
    this.writeProblem = `outcome writes failing for ${Math.round((Date.now() - sinceMs) / 1000)} s: ${err.message}`;
    this.log.error({ err }, `stopped taking work: ${this.writeProblem}`);
    return 'unhealthy';
  }
}
