/**
 * What becomes of a job that ended on this node, by its acknowledgement choice (Celery's acks_late
 * and reject_on_worker_lost): recorded, or given back to its queue to run again. Pure.
 */
import { WorkerShutdown } from '../errors.js';
import type { TaskDefinition } from '../core/task.js';
import { failure, poolUnavailable, workerLost, type Attempt, type Outcome } from './job-runner.js';
import { peekOptions } from './outcome.js';

/** The job is acknowledged early (at most once): its record says so, or its task does. */
export function acknowledgedEarly(raw: string, def: TaskDefinition | undefined): boolean {
  return peekOptions(raw).acksLate === false || def?.acksLate === false;
}

/** The outcome of an early-acknowledged job a shutdown cut short: it fails rather than run again. */
export function shutdownFailure(): Outcome {
  return failure(new WorkerShutdown('the worker shut down while this job ran; it was acknowledged early (acksLate: false), so it is not run again'), 'worker shutdown (acksLate: false)');
}

export type AfterRun = { kind: 'record' } | { kind: 'give-back'; lost: boolean; losses?: number };

/**
 * Decides for a job that ended (its outcome may be changed): an early-acknowledged job cut short by
 * the shutdown fails; any other cut short, or one no pool child could take, goes back; one whose pool
 * child died goes back with `rejectOnWorkerLost`, until it has lost `maxStalls` workers.
 */
export function afterRun(attempt: Attempt, raw: string, def: TaskDefinition | undefined, shutdown: boolean, maxStalls: number): AfterRun {
  const early = acknowledgedEarly(raw, def);
  if (attempt.outcome.kind === 'success') return { kind: 'record' };
  if (shutdown && early) {
    attempt.outcome = shutdownFailure();
    return { kind: 'record' };
  }
  if (shutdown || poolUnavailable(attempt)) return { kind: 'give-back', lost: false };
  if (workerLost(attempt) && !early && def?.rejectOnWorkerLost) {
    const losses = Number(/^\{"stalls":(\d+),/.exec(raw)?.[1] ?? 0) + 1;
    if (losses <= maxStalls) return { kind: 'give-back', lost: true, losses };
    if (attempt.outcome.kind === 'failure') attempt.outcome.reason = `worker lost ${losses} times (maxStalls ${maxStalls})`;
  }
  return { kind: 'record' };
}
