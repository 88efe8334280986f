import { describe, expect, it } from 'vitest';
import { OptionError, Retry, UnrecoverableError } from '../../../src/errors.js';
import {
  backoffDelay,
  decideRetry,
  normalizeBackoff,
  normalizeRetries,
  type BackoffOption,
} from '../../../src/core/retry-policy.js';
import { thrown } from '../../helpers/thrown.js';
import { defaults } from '../../../src/defaults.js';

function optionError(fn: () => unknown): OptionError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(OptionError);
  expect((err as OptionError).code).toBe('TASKQ_OPTION_INVALID');
  expect((err as OptionError).exitCode).toBe(64);
  return err as OptionError;
}

const never = (): number => {
  throw new Error('random() must not be called');
};

describe('normalizeBackoff', () => {
  it('passes undefined through', () => {
    expect(normalizeBackoff(undefined, 'task t')).toBeUndefined();
  });

  it('turns a number into a fixed backoff', () => {
    expect(normalizeBackoff(250, 'task t')).toEqual({ type: 'fixed', delayMs: 250 });
    expect(normalizeBackoff(0, 'task t')).toEqual({ type: 'fixed', delayMs: 0 });
  });

  it('keeps fixed and exponential specs, dropping unknown fields', () => {
    expect(normalizeBackoff({ type: 'fixed', delayMs: 10 }, 'w')).toEqual({ type: 'fixed', delayMs: 10 });
    expect(normalizeBackoff({ type: 'exponential', delayMs: 100 }, 'w')).toEqual({ type: 'exponential', delayMs: 100 });
    expect(normalizeBackoff({ type: 'exponential', delayMs: 100, maxMs: 5000, jitter: true }, 'w')).toEqual({
      type: 'exponential',
      delayMs: 100,
      maxMs: 5000,
      jitter: true,
    });
    const extra = { type: 'fixed', delayMs: 5, maxMs: 9 } as unknown as BackoffOption;
    expect(normalizeBackoff(extra, 'w')).toEqual({ type: 'fixed', delayMs: 5 });
  });

  it('rejects a negative or non-finite number, naming where and the value', () => {
    expect(optionError(() => normalizeBackoff(-1, 'task tasks.add')).message).toBe(
      'task tasks.add backoff must be a non-negative number of milliseconds, got -1',
    );
    expect(optionError(() => normalizeBackoff(Infinity, 'task t')).message).toContain('task t backoff must be');
  });

  it('rejects a bad delayMs / maxMs of a spec, naming the field', () => {
    const bad = { type: 'fixed', delayMs: '5' } as unknown as BackoffOption;
    expect(optionError(() => normalizeBackoff(bad, 'call')).message).toBe(
      'call backoff.delayMs must be a non-negative number of milliseconds, got "5"',
    );
    expect(optionError(() => normalizeBackoff({ type: 'exponential', delayMs: 1, maxMs: -5 }, 'call')).message).toBe(
      'call backoff.maxMs must be a non-negative number of milliseconds, got -5',
    );
  });

  it('rejects a value that is neither a number nor an object', () => {
    for (const [value, shown] of [
      [null, 'null'],
      ['100', '"100"'],
      [true, 'true'],
    ] as const) {
      expect(optionError(() => normalizeBackoff(value as unknown as BackoffOption, 'task t')).message).toBe(
        `task t backoff must be a number of ms or {type, delayMs, …}, got ${shown}`,
      );
    }
  });

  it('rejects an unknown type, naming it', () => {
    const bad = { type: 'linear', delayMs: 5 } as unknown as BackoffOption;
    expect(optionError(() => normalizeBackoff(bad, 'task t')).message).toBe(
      'task t backoff.type must be "fixed" or "exponential", got "linear"',
    );
  });

  it('names NaN as NaN, not as null', () => {
    expect(optionError(() => normalizeBackoff(NaN, 'task t')).message).toContain('got NaN');
  });
});

describe('normalizeRetries', () => {
  it('passes undefined and non-negative integers', () => {
    expect(normalizeRetries(undefined, 'task t')).toBeUndefined();
    expect(normalizeRetries(0, 'task t')).toBe(0);
    expect(normalizeRetries(5, 'task t')).toBe(5);
  });

  it('rejects anything else, naming where and the value', () => {
    for (const [value, shown] of [
      [-1, '-1'],
      [1.5, '1.5'],
      ['3', '"3"'],
      [null, 'null'],
    ] as const) {
      expect(optionError(() => normalizeRetries(value, 'task tasks.add')).message).toBe(
        `task tasks.add retries must be a non-negative integer, got ${shown}`,
      );
    }
  });
});

describe('backoffDelay', () => {
  it('is 0 without a spec', () => {
    expect(backoffDelay(undefined, 3, never)).toBe(0);
  });

  it('fixed waits delayMs every time', () => {
    expect(backoffDelay({ type: 'fixed', delayMs: 700 }, 1, never)).toBe(700);
    expect(backoffDelay({ type: 'fixed', delayMs: 700 }, 9, never)).toBe(700);
  });

  it('exponential doubles per retry', () => {
    const spec = { type: 'exponential', delayMs: 100 } as const;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(spec, n, never))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('exponential is capped by maxMs', () => {
    const spec = { type: 'exponential', delayMs: 100, maxMs: 500 } as const;
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(spec, n, never))).toEqual([100, 200, 400, 500, 500]);
  });

  it('exponential without maxMs is capped at 600 000 ms (defaults.retryBackoffMaxMs)', () => {
    expect(backoffDelay({ type: 'exponential', delayMs: 1000 }, 10, never)).toBe(512_000);
    expect(backoffDelay({ type: 'exponential', delayMs: 1000 }, 11, never)).toBe(600_000);
    expect(backoffDelay({ type: 'exponential', delayMs: 1000 }, 60, never)).toBe(600_000);
  });

  it('jitter picks uniformly in [0, delay] with the injected random', () => {
    const spec = { type: 'exponential', delayMs: 100, maxMs: 1000, jitter: true } as const;
    expect(backoffDelay(spec, 3, () => 0)).toBe(0);
    expect(backoffDelay(spec, 3, () => 0.5)).toBe(200); // floor(0.5 × 401)
    expect(backoffDelay(spec, 3, () => 0.999999)).toBe(400);
    expect(backoffDelay(spec, 5, () => 0.999999)).toBe(1000); // capped before the jitter
  });

  it('jitter false does not call random', () => {
    expect(backoffDelay({ type: 'exponential', delayMs: 100, jitter: false }, 2, never)).toBe(200);
  });
});

class NetworkError extends Error {
  override name = 'NetworkError';
}
class SocketError extends NetworkError {
  override name = 'SocketError';
}
class ValidationError extends Error {
  override name = 'ValidationError';
}

describe('decideRetry: ordinary errors', () => {
  it('does not retry without retries', () => {
    expect(decideRetry(new Error('x'), 1, {}, never)).toEqual({ retry: false, reason: 'no retries configured' });
    expect(decideRetry(new Error('x'), 1, { retries: 0 }, never)).toEqual({ retry: false, reason: 'no retries configured' });
  });

  it('retries up to `retries` times, then stops', () => {
    const policy = { retries: 2, backoff: { type: 'fixed', delayMs: 50 } } as const;
    expect(decideRetry(new Error('x'), 1, policy, never)).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry(new Error('x'), 2, policy, never)).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry(new Error('x'), 3, policy, never)).toEqual({ retry: false, reason: 'max retries (2) exceeded' });
  });

  it('waits retryDelayMs (1 s) without a backoff, as ctx.retry() without a countdown and Celery\'s default_retry_delay', () => {
    expect(decideRetry(new Error('x'), 1, { retries: 1 }, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
  });

  it('numbers retries from the attempt for the backoff', () => {
    const policy = { retries: 5, backoff: { type: 'exponential', delayMs: 10 } } as const;
    expect(decideRetry(new Error('x'), 1, policy, never)).toEqual({ retry: true, delayMs: 10 });
    expect(decideRetry(new Error('x'), 4, policy, never)).toEqual({ retry: true, delayMs: 80 });
  });

  it('passes the injected random to the jitter', () => {
    const policy = { retries: 5, backoff: { type: 'exponential', delayMs: 100, jitter: true } } as const;
    expect(decideRetry(new Error('x'), 2, policy, () => 0.25)).toEqual({ retry: true, delayMs: 50 }); // floor(0.25 × 201)
  });

  it('never retries an UnrecoverableError, by class or by name', () => {
    const policy = { retries: 10 };
    expect(decideRetry(new UnrecoverableError('no'), 1, policy, never)).toEqual({ retry: false, reason: 'unrecoverable error' });
    const remote = Object.assign(new Error('no'), { name: 'UnrecoverableError' });
    expect(decideRetry(remote, 1, policy, never)).toEqual({ retry: false, reason: 'unrecoverable error' });
    expect(decideRetry(new UnrecoverableError(), 1, { retries: 3, autoretryFor: [UnrecoverableError] }, never)).toEqual({
      retry: false,
      reason: 'unrecoverable error',
    });
  });
});

describe('decideRetry: autoretryFor', () => {
  const policy = { retries: 3, autoretryFor: [NetworkError] };

  it('retries a listed class and its subclasses', () => {
    expect(decideRetry(new NetworkError('x'), 1, policy, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
    expect(decideRetry(new SocketError('x'), 1, policy, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
  });

  it('retries an error whose name matches a listed class (errors rebuilt from elsewhere)', () => {
    const byName = Object.assign(new Error('x'), { name: 'NetworkError' });
    expect(decideRetry(byName, 1, policy, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
  });

  it('does not retry other errors, naming them', () => {
    expect(decideRetry(new ValidationError('x'), 1, policy, never)).toEqual({
      retry: false,
      reason: 'ValidationError is not in autoretryFor',
    });
    expect(decideRetry(new TypeError('x'), 1, policy, never)).toEqual({ retry: false, reason: 'TypeError is not in autoretryFor' });
  });

  it('still stops at max retries for listed errors', () => {
    expect(decideRetry(new NetworkError('x'), 4, policy, never)).toEqual({ retry: false, reason: 'max retries (3) exceeded' });
  });

  it("without retries, a listed error is retried up to Celery's default max_retries (3)", () => {
    const listed = { autoretryFor: [NetworkError] };
    expect(decideRetry(new NetworkError('x'), 1, listed, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
    expect(decideRetry(new NetworkError('x'), 4, listed, never)).toEqual({ retry: false, reason: 'max retries (3) exceeded' });
    expect(decideRetry(new TypeError('x'), 1, listed, never)).toEqual({ retry: false, reason: 'TypeError is not in autoretryFor' });
  });

  it('an empty autoretryFor retries any error', () => {
    expect(decideRetry(new TypeError('x'), 1, { retries: 1, autoretryFor: [] }, never)).toEqual({ retry: true, delayMs: defaults.retryDelayMs });
  });
});

describe('decideRetry: ctx.retry() (Retry)', () => {
  it("its own maxRetries beats the task's", () => {
    expect(decideRetry(new Retry('again', undefined, { maxRetries: 1 }), 1, { retries: 5 }, never)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(new Retry('again', undefined, { maxRetries: 1 }), 2, { retries: 5 }, never)).toEqual({ retry: false, reason: 'max retries (1) exceeded' });
  });

  it('is allowed 3 times when the task set no retries', () => {
    expect(decideRetry(new Retry('again'), 1, {}, never)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(new Retry('again'), 3, {}, never)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(new Retry('again'), 4, {}, never)).toEqual({ retry: false, reason: 'max retries (3) exceeded' });
  });

  it('is allowed up to the task’s retries', () => {
    expect(decideRetry(new Retry('again'), 5, { retries: 5 }, never)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(new Retry('again'), 6, { retries: 5 }, never)).toEqual({ retry: false, reason: 'max retries (5) exceeded' });
    expect(decideRetry(new Retry('again'), 1, { retries: 0 }, never)).toEqual({ retry: false, reason: 'max retries (0) exceeded' });
  });

  it('uses its countdown first, then the backoff, then 1000 ms', () => {
    const backoff = { type: 'exponential', delayMs: 100 } as const;
    expect(decideRetry(new Retry('again', 0), 1, { backoff }, never)).toEqual({ retry: true, delayMs: 0 });
    expect(decideRetry(new Retry('again', 2500), 2, { backoff }, never)).toEqual({ retry: true, delayMs: 2500 });
    expect(decideRetry(new Retry('again'), 3, { backoff }, never)).toEqual({ retry: true, delayMs: 400 });
  });

  it('is not narrowed by autoretryFor', () => {
    expect(decideRetry(new Retry('again'), 1, { retries: 2, autoretryFor: [NetworkError] }, never)).toEqual({
      retry: true,
      delayMs: 1000,
    });
  });
});
