/**
 * Retry decisions and backoff math (pure; time and randomness are passed in).
 *
 * - `retries` (n): how many times a failed task runs again. Any error retries unless `autoretryFor`
 *   narrows it to some error classes; `UnrecoverableError` never retries.
 * - `ctx.retry()` asks for a retry explicitly; it is allowed up to its own `maxRetries`, else the
 *   task's `retries`, else 3 (Celery's max_retries). `autoretryFor` without `retries` also allows 3.
 * - backoff: none waits `defaults.retryDelayMs` (1 s) before each retry; `fixed` waits `delayMs` each time; `exponential` waits min(maxMs, delayMs·2^(n-1)) for
 *   retry n, and with `jitter` a uniform random delay in [0, that] ("full jitter", as Celery).
 */
import { show, OptionError, Retry, UnrecoverableError } from '../errors.js';
import { defaults } from '../defaults.js';
import type { BackoffSpec } from '../broker/message.js';

export type { BackoffSpec };

/** What a task or call may give as `backoff`: a number of ms (fixed) or a spec. */
export type BackoffOption = number | BackoffSpec;

export type ErrorClass = abstract new (...args: never[]) => Error;

export interface RetryPolicy {
  retries?: number;
  backoff?: BackoffSpec;
  autoretryFor?: readonly ErrorClass[];
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

function nonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptionError(`${what} must be a non-negative number of milliseconds, got ${show(value)}`);
  }
  return value;
}

/** Validates and normalises a backoff option; throws OptionError naming the bad value. */
export function normalizeBackoff(option: BackoffOption | undefined, where: string): BackoffSpec | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'number') return { type: 'fixed', delayMs: nonNegative(option, `${where} backoff`) };
  if (!option || typeof option !== 'object') {
    throw new OptionError(`${where} backoff must be a number of ms or {type, delayMs, …}, got ${show(option)}`);
  }
  if (option.type === 'fixed') return { type: 'fixed', delayMs: nonNegative(option.delayMs, `${where} backoff.delayMs`) };
  if (option.type === 'exponential') {
    const spec: BackoffSpec = { type: 'exponential', delayMs: nonNegative(option.delayMs, `${where} backoff.delayMs`) };
    if (option.maxMs !== undefined) spec.maxMs = nonNegative(option.maxMs, `${where} backoff.maxMs`);
    if (option.jitter !== undefined) {
      if (typeof option.jitter !== 'boolean') throw new OptionError(`${where} backoff.jitter must be true or false, got ${show(option.jitter)}`);
      spec.jitter = option.jitter;
    }
    return spec;
  }
  throw new OptionError(
    `${where} backoff.type must be "fixed" or "exponential", got ${show((option as { type?: unknown }).type)}`,
  );
}

export function normalizeRetries(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new OptionError(`${where} retries must be a non-negative integer, got ${show(value)}`);
  }
  return value;
}

/** Celery's backoff options, as a task gives them. */
export interface CeleryBackoffOptions {
  retryBackoff?: boolean | number;
  retryBackoffMax?: number;
  retryJitter?: boolean;
}

/**
 * Celery's `retry_backoff` (true = 1 s, or a factor in seconds), `retry_backoff_max` (seconds,
 * default 600) and `retry_jitter` (default true) as an exponential backoff spec; undefined when
 * `retryBackoff` is not set (or false).
 */
export function celeryBackoff(o: CeleryBackoffOptions, where: string): BackoffSpec | undefined {
  const { retryBackoff, retryBackoffMax, retryJitter } = o;
  if (retryBackoff === undefined || retryBackoff === false) {
    if (retryBackoffMax !== undefined || retryJitter !== undefined) throw new OptionError(`${where} retryBackoffMax and retryJitter apply with retryBackoff; set retryBackoff: true (or a factor in seconds)`);
    return undefined;
  }
  const factor = retryBackoff === true ? 1 : retryBackoff;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) throw new OptionError(`${where} retryBackoff must be true or a positive number of seconds, got ${show(retryBackoff)}`);
  const max = retryBackoffMax ?? defaults.retryBackoffMaxMs / 1000;
  if (typeof max !== 'number' || !Number.isFinite(max) || max < 0) throw new OptionError(`${where} retryBackoffMax must be a non-negative number of seconds, got ${show(retryBackoffMax)}`);
  if (retryJitter !== undefined && typeof retryJitter !== 'boolean') throw new OptionError(`${where} retryJitter must be true or false, got ${show(retryJitter)}`);
  return { type: 'exponential', delayMs: factor * 1000, maxMs: max * 1000, jitter: retryJitter ?? true };
}

/** Delay before retry number `retryNumber` (1 = first retry). */
export function backoffDelay(spec: BackoffSpec | undefined, retryNumber: number, random: () => number = Math.random): number {
  if (!spec) return 0;
  if (spec.type === 'fixed') return spec.delayMs;
  const max = spec.maxMs ?? defaults.retryBackoffMaxMs;
  const raw = Math.min(max, spec.delayMs * 2 ** Math.max(0, retryNumber - 1));
  return spec.jitter ? Math.floor(random() * (raw + 1)) : raw;
}

function matches(err: Error, classes: readonly ErrorClass[]): boolean {
  return classes.some((cls) => err instanceof cls || (err as Error).name === cls.name);
}

/**
 * Decides whether the attempt that just failed with `err` runs again, and after how long.
 * `attempt` is 1 for the first run.
 */
export function decideRetry(err: Error, attempt: number, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  if (err instanceof UnrecoverableError || (err as Error).name === 'UnrecoverableError') {
    return { retry: false, reason: 'unrecoverable error' };
  }
  const retriesDone = attempt - 1;
  if (err instanceof Retry) {
    const max = err.maxRetries ?? policy.retries ?? defaults.maxRetries;
    if (retriesDone >= max) return { retry: false, reason: `max retries (${max}) exceeded` };
    const delayMs = err.countdownMs ?? (policy.backoff ? backoffDelay(policy.backoff, retriesDone + 1, random) : defaults.retryDelayMs);
    return { retry: true, delayMs };
  }
  // autoretryFor alone retries up to Celery's default max_retries; otherwise retries are opt-in.
  const listed = policy.autoretryFor !== undefined && policy.autoretryFor.length > 0;
  const max = policy.retries ?? (listed ? defaults.maxRetries : 0);
  if (max === 0) return { retry: false, reason: 'no retries configured' };
  if (policy.autoretryFor && policy.autoretryFor.length > 0 && !matches(err, policy.autoretryFor)) {
    return { retry: false, reason: `${err.name} is not in autoretryFor` };
  }
  if (retriesDone >= max) return { retry: false, reason: `max retries (${max}) exceeded` };
  // Without a backoff, as ctx.retry() without a countdown (Celery's default_retry_delay for both).
  return { retry: true, delayMs: policy.backoff ? backoffDelay(policy.backoff, retriesDone + 1, random) : defaults.retryDelayMs };
}
