/**
 * What a node makes of its recorded outcomes: the counts in its heartbeat, the log line for each
 * outcome that finish.lua did not record as sent (lost ownership, a final state kept), the average
 * run time that decides prefetch, and whether outcome writes keep failing (the node then stops
 * taking work and says why).
 */
import type { Logger } from 'pino';
import { defaults } from '../core/defaults.js';
import type { Attempt } from './job-runner.js';
import type { RecordCode } from './outcome-recorder.js';
import type { TakenJob } from './queue-consumer.js';
import type { WorkerStats } from './worker-types.js';

export class OutcomeLedger {
  /** Moving average of task run times (ms). */
  avgRuntimeMs: number | undefined;
  /** Why the node stopped taking work on its own (undefined: it is healthy). */
  problem: string | undefined;

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
      if (!this.problem) return 'same';
      this.problem = undefined;
      this.log.warn('outcome writes work again: taking work again');
      return 'healthy';
    }
    if (this.problem || Date.now() - sinceMs < defaults.outcomeTroubleMs) return 'same';
    this.problem = `outcome writes failing for ${Math.round((Date.now() - sinceMs) / 1000)} s: ${err.message}`;
    this.log.error({ err }, `stopped taking work: ${this.problem}`);
    return 'unhealthy';
  }
}
