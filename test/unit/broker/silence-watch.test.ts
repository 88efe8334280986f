/** watchSilence: a ping unanswered for `afterMs` is reported once, and its answer once it comes. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchSilence } from '../../../src/broker/silence-watch.js';

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

function setUp(connected = () => true) {
  const pings: Pending[] = [];
  const reports: string[] = [];
  const stop = new AbortController();
  watchSilence({
    afterMs: 1000,
    ping: () => new Promise<void>((resolve, reject) => pings.push({ resolve, reject })),
    connected,
    silent: (ms) => reports.push(`silent ${ms}`),
    answered: (ms) => reports.push(`answered ${ms}`),
    signal: stop.signal,
  });
  return { pings, reports, stop };
}

describe('watchSilence', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('pings when none waits, says nothing while answers come in time', async () => {
    const { pings, reports } = setUp();
    await vi.advanceTimersByTimeAsync(200);
    expect(pings).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600); // the ping waits: no second one
    expect(pings).toHaveLength(1);
    pings[0]!.resolve();
    await vi.advanceTimersByTimeAsync(200);
    expect(pings).toHaveLength(2);
    expect(reports).toEqual([]);
  });

  it('reports a ping waiting afterMs once, then its answer with the time it took', async () => {
    const { pings, reports } = setUp();
    await vi.advanceTimersByTimeAsync(200 + 1000);
    expect(reports).toEqual(['silent 1000']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(reports).toEqual(['silent 1000']);
    pings[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(reports).toEqual(['silent 1000', 'answered 6000']);
  });

  it('a lost connection is not silence: no report, and a late answer from before it says nothing', async () => {
    let up = true;
    const { pings, reports } = setUp(() => up);
    await vi.advanceTimersByTimeAsync(200);
    up = false;
    await vi.advanceTimersByTimeAsync(3000);
    expect(reports).toEqual([]);
    up = true;
    pings[0]!.resolve();
    await vi.advanceTimersByTimeAsync(200);
    expect(pings).toHaveLength(2);
    expect(reports).toEqual([]);
  });

  it('a failed ping ends the wait without a report; abort stops the pings', async () => {
    const { pings, reports, stop } = setUp();
    await vi.advanceTimersByTimeAsync(200);
    pings[0]!.reject(new Error('connection closed'));
    await vi.advanceTimersByTimeAsync(200);
    expect(pings).toHaveLength(2);
    stop.abort();
    pings[1]!.resolve();
    await vi.advanceTimersByTimeAsync(5000);
    expect(pings).toHaveLength(2);
    expect(reports).toEqual([]);
  });
});
