import { describe, expect, it } from 'vitest';
import { OptionError } from '../../../src/errors.js';
import { resolveTiming } from '../../../src/core/timing.js';
import { thrown } from '../../helpers/thrown.js';

const now = Date.UTC(2024, 0, 15, 12, 0, 0); // 1705320000000

function optionError(fn: () => unknown): OptionError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(OptionError);
  expect((err as OptionError).code).toBe('TASKQ_OPTION_INVALID');
  return err as OptionError;
}

type Options = Parameters<typeof resolveTiming>[0];
const untyped = (o: Record<string, unknown>): Options => o as Options;

describe('resolveTiming: when the job may run', () => {
  it('runs now and never expires by default', () => {
    expect(resolveTiming({}, now)).toEqual({ dueMs: 0, expiresMs: undefined });
  });

  it('countdown is seconds from now, rounded to ms', () => {
    expect(resolveTiming({ countdown: 10 }, now)).toEqual({ dueMs: now + 10_000, expiresMs: undefined });
    expect(resolveTiming({ countdown: 0.0015 }, now).dueMs).toBe(now + 2);
    expect(resolveTiming({ countdown: 0 }, now).dueMs).toBe(0);
  });

  it('eta may be a Date, ms since the epoch or an ISO string', () => {
    const at = now + 60_000;
    expect(resolveTiming({ eta: new Date(at) }, now).dueMs).toBe(at);
    expect(resolveTiming({ eta: at }, now).dueMs).toBe(at);
    expect(resolveTiming({ eta: '2024-01-15T12:01:00.000Z' }, now).dueMs).toBe(at);
  });

  it('an eta now or in the past runs now', () => {
    expect(resolveTiming({ eta: now }, now).dueMs).toBe(0);
    expect(resolveTiming({ eta: new Date(now - 1) }, now).dueMs).toBe(0);
    expect(resolveTiming({ eta: '2000-01-01T00:00:00Z' }, now).dueMs).toBe(0);
  });

  it('rejects countdown and eta together', () => {
    expect(optionError(() => resolveTiming({ countdown: 1, eta: now + 1 }, now)).message).toBe('give countdown or eta, not both');
  });

  it('rejects a bad countdown, naming it', () => {
    expect(optionError(() => resolveTiming({ countdown: -1 }, now)).message).toBe(
      'countdown must be a number of seconds from 0 to 315360000 (10 years), got -1',
    );
    expect(optionError(() => resolveTiming(untyped({ countdown: '5' }), now)).message).toBe(
      'countdown must be a number of seconds from 0 to 315360000 (10 years), got "5"',
    );
    optionError(() => resolveTiming({ countdown: Infinity }, now));
    expect(optionError(() => resolveTiming({ countdown: 1e300 }, now)).message).toContain('got 1e+300');
    expect(resolveTiming({ countdown: 315_360_000 }, now).dueMs).toBe(now + 315_360_000_000);
  });

  it('names a NaN countdown as NaN, not as null', () => {
    expect(optionError(() => resolveTiming({ countdown: NaN }, now)).message).toContain('got NaN');
  });

  it('rejects an eta that is no date, naming it', () => {
    expect(optionError(() => resolveTiming({ eta: 'next tuesday' }, now)).message).toBe(
      'eta must be a Date, ms since the epoch or an ISO date, got "next tuesday"',
    );
    optionError(() => resolveTiming({ eta: new Date('nope') }, now));
    optionError(() => resolveTiming(untyped({ eta: true }), now));
    optionError(() => resolveTiming({ eta: Infinity }, now));
  });
});

describe('resolveTiming: expiry', () => {
  it('expires as seconds from now', () => {
    expect(resolveTiming({ expires: 30 }, now)).toEqual({ dueMs: 0, expiresMs: now + 30_000 });
    expect(resolveTiming({ expires: 1.2345 }, now).expiresMs).toBe(now + 1235);
  });

  it('expires as a Date, even with a countdown', () => {
    const at = new Date(now + 3_600_000);
    expect(resolveTiming({ countdown: 5, expires: at }, now)).toEqual({ dueMs: now + 5000, expiresMs: now + 3_600_000 });
  });

  it('rejects expires that is not positive, naming it', () => {
    expect(optionError(() => resolveTiming({ expires: 0 }, now)).message).toBe(
      'expires must be a number of seconds above 0 and up to 315360000 (10 years), or a Date, got 0',
    );
    expect(optionError(() => resolveTiming({ expires: -5 }, now)).message).toContain('got -5');
    expect(optionError(() => resolveTiming({ expires: 1e300 }, now)).message).toContain('got 1e+300');
    optionError(() => resolveTiming({ expires: Infinity }, now));
  });

  it('rejects an invalid Date for expires', () => {
    expect(optionError(() => resolveTiming({ expires: new Date('nope') }, now)).message).toMatch(/^expires must be a Date/);
  });
});
