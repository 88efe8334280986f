/**
 * Publishing through an outage (Celery's `retry_policy`): a send waits for the broker connection
 * `maxRetries` times — `intervalStart` seconds, then `intervalStep` more each time, at most
 * `intervalMax` — and then fails with BrokerUnavailableError. Nothing is sent while the connection is
 * down (no offline queue), so a send that failed was never stored.
 */
import type { Redis } from '../broker/redis-factory.js';
import { BrokerUnavailableError, OptionError, show } from '../errors.js';

export interface RetryPolicyOptions {
  /** How many times to wait for the connection before failing (Celery's default 3; taskq's 10). */
  maxRetries?: number;
  /** Seconds before the first retry. */
  intervalStart?: number;
  /** Seconds added to the wait at each retry. */
  intervalStep?: number;
  /** The longest wait between retries, seconds. */
  intervalMax?: number;
}

export type PublishPolicy = Required<RetryPolicyOptions>;

/** Checks a policy (filled from the defaults); throws OptionError naming the bad field. */
export function normalizePublishPolicy(value: RetryPolicyOptions | undefined, base: PublishPolicy, where: string): PublishPolicy {
  if (value === undefined) return base;
  if (!value || typeof value !== 'object') throw new OptionError(`${where}: retryPolicy must be { maxRetries, intervalStart, intervalStep, intervalMax }, got ${show(value)}`);
  const out = { ...base };
  for (const key of ['maxRetries', 'intervalStart', 'intervalStep', 'intervalMax'] as const) {
    const v = value[key];
    if (v === undefined) continue;
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= 0 && (key !== 'maxRetries' || Number.isInteger(v));
    if (!ok) throw new OptionError(`${where}: retryPolicy.${key} must be a non-negative ${key === 'maxRetries' ? 'integer' : 'number of seconds'}, got ${show(v)}`);
    out[key] = v;
  }
  return out;
}

/** The wait before retry `n` (0-based), ms. */
export function retryWaitMs(policy: PublishPolicy, n: number): number {
  return Math.min(policy.intervalStart + policy.intervalStep * n, policy.intervalMax) * 1000;
}

/** Waits for the client's 'ready', or `ms`; its 'error' events (one per failed reconnect) do not end the wait. */
function readyOrTimeout(client: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}

/**
 * Resolves once `client` is connected, waiting as `policy` allows; rejects with BrokerUnavailableError
 * (exit 69) saying what was not sent, where Redis was, and for how long it was tried.
 */
export async function whenConnected(client: Redis, policy: PublishPolicy, what: string, where: string): Promise<void> {
  const started = Date.now();
  for (let n = 0; client.status !== 'ready'; n++) {
    if (n >= policy.maxRetries) {
      throw new BrokerUnavailableError(
        `${what}: Redis at ${where} is unreachable (connection ${client.status}); gave up after ${policy.maxRetries} retries over ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s, and nothing was sent. Start Redis or fix the broker URL; ` +
          'a longer outage can be waited out with a larger retryPolicy (maxRetries, intervalStart, intervalStep, intervalMax).',
      );
    }
    await readyOrTimeout(client, Math.max(1, retryWaitMs(policy, n)));
  }
}
