/** countdown / eta / expires → absolute times in ms (pure; `now` is passed in). */
import { defaults } from '../defaults.js';
import { OptionError, show } from '../errors.js';

const MAX_S = defaults.maxDelaySeconds;

export interface Timing {
  /** When the job may run (0 = now). */
  dueMs: number;
  /** When the job must no longer start (undefined = never expires). */
  expiresMs: number | undefined;
}

export function toMs(value: Date | number | string, what: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  // The largest time a Date holds (year 275760): past it a value cannot be a real moment.
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new OptionError(`${what} must be a Date, ms since the epoch or an ISO date, got ${show(value)}`);
  }
  return ms;
}

export function resolveTiming(
  options: { countdown?: number; eta?: Date | number | string; expires?: number | Date },
  now: number,
): Timing {
  if (options.countdown !== undefined && options.eta !== undefined) {
    throw new OptionError('give countdown or eta, not both');
  }
  let dueMs = 0;
  if (options.countdown !== undefined) {
    if (typeof options.countdown !== 'number' || !Number.isFinite(options.countdown) || options.countdown < 0 || options.countdown > MAX_S) {
      throw new OptionError(`countdown must be a number of seconds from 0 to ${MAX_S} (10 years), got ${show(options.countdown)}`);
    }
    if (options.countdown > 0) dueMs = now + Math.round(options.countdown * 1000);
  } else if (options.eta !== undefined) {
    const eta = toMs(options.eta, 'eta');
    if (eta > now) dueMs = eta;
  }
  let expiresMs: number | undefined;
  if (options.expires !== undefined) {
    if (typeof options.expires === 'number') {
      if (!Number.isFinite(options.expires) || options.expires <= 0 || options.expires > MAX_S) {
        throw new OptionError(`expires must be a number of seconds above 0 and up to ${MAX_S} (10 years), or a Date, got ${show(options.expires)}`);
      }
      expiresMs = now + Math.round(options.expires * 1000);
    } else {
      expiresMs = toMs(options.expires, 'expires');
    }
  }
  return { dueMs, expiresMs };
}
