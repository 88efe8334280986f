/** The steps of a node's shutdown: the drain, and running every step even when one fails. */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaults } from '../defaults.js';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatcher.js';

/**
 * A warm shutdown's wait: until the node is idle, or the timeout (or a cold stop) comes first; then
 * running jobs are aborted and given back (Dispatcher.abortRunning), and the outcomes of those that
 * still ended are written before the node closes.
 */
export async function drain(dispatcher: Dispatcher, cold: AbortSignal, timeoutMs: number): Promise<void> {
  const idle = (): Promise<void> => (dispatcher.isIdle() ? Promise.resolve() : once(dispatcher, 'idle').then(() => undefined));
  const coldStop = new Promise<'timeout'>((r) => {
    if (cold.aborted) r('timeout');
    else cold.addEventListener('abort', () => r('timeout'), { once: true });
  });
  dispatcher.abortUntilStopped();
  const timer = sleep(timeoutMs, 'timeout' as const, { ref: false });
  if ((await Promise.race([idle().then(() => 'idle' as const), timer, coldStop])) !== 'timeout') return;
  await dispatcher.abortRunning(cold.aborted ? 0 : Math.min(defaults.shutdownGraceMs, timeoutMs), idle);
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
