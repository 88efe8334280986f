/**
 * Polls `probe` until `accept` says yes. On timeout it fails with what it last saw, never with a bare
 * "timed out". For conditions that have no event to wait on (state in Redis, files, processes).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `error ${String(lastError)}` : JSON.stringify(last);
      throw new Error(`waited ${options.timeoutMs ?? 10_000} ms for ${what}; last saw: ${seen}`);
    }
    await sleep(options.intervalMs ?? 25);
  }
}
