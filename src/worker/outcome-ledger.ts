/**
 * What a node makes of its recorded outcomes: the counts in its heartbeat, the log line for each
 * outcome that finish.lua did not record as sent (lost ownership, a final state kept), the average
 * run time that decides prefetch, and whether outcome writes keep failing (the node then stops
 * taking work and says why).
 */
import type { Logger } from 'pino';
import { defaults } from '../defaults.js';
import type { Attempt } from './job-runner.js';
import type { RecordCode } from './outcome-recorder.js';
import type { TakenJob } from './queue-consumer.js';
import type { WorkerStats } from './worker-types.js';

/** Prefetch while tasks take less than this on average (ms). */
const PREFETCH_BELOW_MS = 5;

export class OutcomeLedger {
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
  ) {}

  recorded(job: TakenJob, attempt: Attempt, code: RecordCode): void {
    const { stats, log } = this;
    const outcome = attempt.outcome;
    const about = { jobId: job.id, task: attempt.taskName };
    this.avgRuntimeMs = this.avgRuntimeMs === undefined ? attempt.runtimeMs : this.avgRuntimeMs * 0.9 + attempt.runtimeMs * 0.1;
    stats.processed++;
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
    else {
      stats.failed++;
      if (outcome.kind === 'failure') log.warn({ ...about, reason: outcome.reason, error: outcome.error.message }, 'task failed');
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
    if (this.writeProblem || Date.now() - sinceMs < defaults.outcomeTroubleMs) return 'same';
    this.writeProblem = `outcome writes failing for ${Math.round((Date.now() - sinceMs) / 1000)} s: ${err.message}`;
    this.log.error({ err }, `stopped taking work: ${this.writeProblem}`);
    return 'unhealthy';
  }
}
