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

/** Runs each step in order; one that fails is logged and the next still runs. */
export async function runSteps(steps: Array<[what: string, step: () => Promise<unknown>]>, log: Logger): Promise<void> {
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.error({ err }, `shutdown step "${what}" failed`);
    }
  }
}
