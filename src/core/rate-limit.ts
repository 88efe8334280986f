/**
 * Rate limits (pure): `'10/s'`, `'100/m'`, `'5/h'`, or a number (per second) → the interval between
 * two starts, in ms. Enforced cluster-wide by take.lua: each start reserves the next free slot of
 * the task in Redis, so all nodes together keep to the rate.
 */
import { OptionError, show } from '../errors.js';

export type RateLimit = string | number;

const PERIOD_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** Interval between starts (ms), or undefined for "no limit" (undefined, 0, '0/s'). */
export function parseRateLimit(value: RateLimit | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  let count: number;
  let period = 1000;
  if (typeof value === 'number') {
    count = value;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(String(value));
    if (!m) throw new OptionError(`${where} rateLimit must look like "10/s", "100/m" or "5/h", got ${show(value)}`);
    count = Number(m[1]);
    period = PERIOD_MS[m[2] ?? 's'] as number;
  }
  if (!Number.isFinite(count) || count < 0) throw new OptionError(`${where} rateLimit must be a non-negative rate, got ${show(value)}`);
  return count === 0 ? undefined : period / count;
}
