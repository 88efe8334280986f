/** The steps of a node's shutdown: the drain, and running every step even when one fails. */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaults } from '../defaults.js';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatcher.js';

/**
 * A warm shutdown's wait: until the node is idle, or the timeout (or a cold stop) comes first; then
 * running jobs are aborted and given back (Dispatcher.abortForShutdown, giveBackRunning), and the outcomes of those that
 * still ended are written before the node closes.
 */
export async function drain(dispatcher: Dispatcher, cold: AbortSignal, timeoutMs: number, log: Logger): Promise<void> {
  const idle = (): Promise<void> => (dispatcher.isIdle() ? Promise.resolve() : once(dispatcher, 'idle').then(() => undefined));
  const coldStop = new Promise<'timeout'>((r) => {
    if (cold.aborted) r('timeout');
    else cold.addEventListener('abort', () => r('timeout'), { once: true });
  });
  // A task that runs until stopped would only end at the timeout: stop it now.
  for (const r of dispatcher.abortForShutdown('untilStopped')) log.info({ jobId: r.job.id }, 'stopped a task that runs until stopped; it goes back to its queue');
  const timer = sleep(timeoutMs, 'timeout' as const, { ref: false });
  if ((await Promise.race([idle().then(() => 'idle' as const), timer, coldStop])) !== 'timeout') return;
  // The timeout: running jobs are aborted and go back when they end; those still running a grace later go back as they run.
  const graceMs = cold.aborted ? 0 : Math.min(defaults.shutdownGraceMs, timeoutMs);
  log.warn({ running: dispatcher.abortForShutdown('all').length }, 'shutdown timeout: aborting running jobs; they go back to their queues');
  if (graceMs === 0 || (await Promise.race([idle().then(() => 'idle'), sleep(graceMs, 'timeout', { ref: false })])) !== 'idle') {
    const stuck = dispatcher.live();
    await dispatcher.giveBackRunning(stuck);
    if (stuck.length) log.warn({ jobs: stuck.map((r) => r.job.id) }, 'jobs still running at shutdown were returned to their queues');
  }
  await Promise.race([idle(), sleep(defaults.shutdownGraceMs, undefined, { ref: false })]);
}

/**
 * Runs each step in order; one that fails is logged and the next still runs. A step that has not
 * ended within its limit (default defaults.shutdownStepMs) is left behind, logged, and the next runs:
 * with Redis unreachable, commands wait for a reconnect that may never come, and a node told to stop
 * must still stop. What it could not write stays in Redis (`active`), where a stall check finds it.
 */
export async function runSteps(steps: Array<[what: string, step: () => Promise<unknown>, limitMs?: number]>, log: Logger): Promise<void> {
  for (const [what, step, limitMs = defaults.shutdownStepMs] of steps) {
    try {
      const ended = await Promise.race([step().then(() => true), sleep(limitMs, false, { ref: false })]);
      if (!ended) log.warn({ step: what }, `shutdown step "${what}" did not end within ${Math.round(limitMs / 1000)} s (is Redis reachable?); going on without it`);
    } catch (err) {
      log.error({ err }, `shutdown step "${what}" failed`);
    }
  }
}
