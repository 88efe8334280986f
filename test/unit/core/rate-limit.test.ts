import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../../src/core/rate-limit.js';

describe('parseRateLimit', () => {
  it('turns rates into the interval between starts (ms)', () => {
    expect(parseRateLimit('10/s', 'x')).toBe(100);
    expect(parseRateLimit('100/m', 'x')).toBe(600);
    expect(parseRateLimit('5/h', 'x')).toBe(720_000);
    expect(parseRateLimit('2.5/s', 'x')).toBe(400);
    expect(parseRateLimit('4', 'x')).toBe(250);
    expect(parseRateLimit(20, 'x')).toBe(50);
  });

  it('no limit: undefined, 0, "0/s"', () => {
    expect(parseRateLimit(undefined, 'x')).toBeUndefined();
    expect(parseRateLimit(0, 'x')).toBeUndefined();
    expect(parseRateLimit('0/m', 'x')).toBeUndefined();
  });

  it('refuses anything else, naming the value', () => {
    expect(() => parseRateLimit('10/d', 'task t:')).toThrow('task t: rateLimit must look like "10/s", "100/m" or "5/h", got "10/d"');
    expect(() => parseRateLimit('fast', 'x')).toThrow(/got "fast"/);
    expect(() => parseRateLimit(-1, 'x')).toThrow('x rateLimit must be a non-negative rate, got -1');
    expect(() => parseRateLimit(Number.NaN, 'x')).toThrow(/got NaN/);
  });
});
