/**
 * How a held job (prefetched, or waiting for its rate slot) starts: revocation and expiry are checked
 * now, not only when it was taken. When the node has surely heard every revoke since the take (its
 * control subscription never dropped, no revoke for the job came in) and the job is not about to
 * expire, it starts at once and the check rides with the next finish call (a late "no" stops it);
 * otherwise it waits for Redis's verdict.
 */
import { Revoked } from '../errors.js';
import type { ControlListener } from './control-listener.js';
import { peekOptions } from './outcome.js';
import type { OutcomeRecorder, StartVerdict } from './outcome-recorder.js';
import type { RedisClock } from './redis-clock.js';
import type { Running } from './worker-types.js';

/** A held job due to expire sooner than this waits for Redis's verdict before it starts (ms). */
const EXPIRY_MARGIN_MS = 1000;

export interface HeldStartDeps {
  recorder: OutcomeRecorder;
  clock: RedisClock;
  control: ControlListener | undefined;
}

/**
 * Stops a running job's code: its child is killed (threads, processes) or its signal aborted (async).
 * With `kill` false only the signal aborts, so the task may end on its own terms.
 */
export function stopRunning(entry: Running, reason: Error, kill = true): void {
  if (kill && entry.kill) entry.kill(reason);
  else (entry.controller ??= new AbortController()).abort(reason);
}

/** Starts a held job; resolves "ok" once it may run, or with the verdict that it must not. */
export async function startHeld(entry: Running, deps: HeldStartDeps): Promise<StartVerdict> {
  const { job, consumer } = entry;
  const { recorder, clock, control } = deps;
  job.startedAt = clock.now();
  const expires = peekOptions(job.raw).expires;
  const heard = control !== undefined && job.epoch !== undefined && control.intactSince(job.epoch) && !control.revokedLately(job.id);
  if (heard && (expires === undefined || expires > job.startedAt + EXPIRY_MARGIN_MS)) {
    job.started = true;
    void recorder.start(consumer.queue, job, false).then((verdict) => {
      if (verdict === 'ok' || entry.recorded || entry.abandoned) return;
      entry.revoked = true;
      stopRunning(entry, new Revoked(`task ${job.id} was ${verdict === 'expired' ? 'expired' : 'revoked'} before it started`));
    });
    return 'ok';
  }
  const verdict = await recorder.start(consumer.queue, job, true);
  if (verdict === 'ok') job.started = true;
  return verdict;
}
