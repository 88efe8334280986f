/** The publish retry policy's waits (Celery's interval_start, interval_step, interval_max; seconds). */
import { describe, expect, it } from 'vitest';
import { retryWaitMs } from '../../../src/core/publish-policy.js';

describe('retryWaitMs', () => {
  it('starts at intervalStart, adds intervalStep each retry, never beyond intervalMax', () => {
    const policy = { maxRetries: 10, intervalStart: 0.1, intervalStep: 0.2, intervalMax: 1 };
    expect(Array.from({ length: 7 }, (_, n) => Math.round(retryWaitMs(policy, n)))).toEqual([100, 300, 500, 700, 900, 1000, 1000]);
  });
});
