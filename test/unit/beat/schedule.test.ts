/** Beat's schedule math, with a fake clock (times passed in): intervals, cron with seconds, DST, catch-up. */
import { describe, expect, it } from 'vitest';
import { compileEntry, dueSlots, fireId, LATE_TOLERANCE_MS, MAX_CATCH_UP, parseEvery } from '../../../src/beat/schedule.js';

const T = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const next = (entry: ReturnType<typeof compileEntry>, from: string, n: number): string[] => {
  const out: string[] = [];
  let t = T(from);
  for (let i = 0; i < n; i++) out.push(iso((t = entry.slotAfter(t))));
  return out;
};

describe('intervals', () => {
  it("reads ms and '500ms' / '30s' / '5m' / '1h' / '1d'; refuses less than a second and nonsense", () => {
    expect([parseEvery(2000, 'e'), parseEvery('30s', 'e'), parseEvery('5m', 'e'), parseEvery('1h', 'e'), parseEvery('1d', 'e'), parseEvery('1500ms', 'e')]).toEqual([2000, 30_000, 300_000, 3_600_000, 86_400_000, 1500]);
    expect(() => parseEvery('500ms', 'sync')).toThrow('beat entry "sync": every "500ms": 500 ms is too short; beat fires an entry at most once a second (at least 1s)');
    // A bare number is milliseconds: one meant as seconds is told so.
    expect(() => parseEvery(3, 'sync')).toThrow("every 3: 3 ms is too short (a bare number is milliseconds: '3s' is 3 seconds)");
    expect(() => parseEvery('1.5ms', 'sync')).toThrow('every "1.5ms": must come to a whole number of ms');
    expect(() => parseEvery('often', 'sync')).toThrow(`every "often": expected ms or a number with ms, s, m, h or d (e.g. '30s', '5m')`);
  });

  it('slots are multiples of the interval since the epoch: every beat computes the same ones', () => {
    const e = compileEntry('sync', { task: 't', every: '10s' });
    expect(next(e, '2026-11-30T10:00:03.250Z', 3)).toEqual(['2026-11-30T10:00:10.000Z', '2026-11-30T10:00:20.000Z', '2026-11-30T10:00:30.000Z']);
    expect(iso(e.slotAfter(T('2026-11-30T10:00:10.000Z')))).toBe('2026-11-30T10:00:20.000Z'); // strictly after
  });
});

describe('cron', () => {
  it('takes seconds as a sixth field, and five fields as whole minutes', () => {
    expect(next(compileEntry('e', { task: 't', cron: '*/15 * * * * *' }), '2026-11-30T10:00:01Z', 3)).toEqual(['2026-11-30T10:00:15.000Z', '2026-11-30T10:00:30.000Z', '2026-11-30T10:00:45.000Z']);
    expect(next(compileEntry('e', { task: 't', cron: '*/5 * * * *' }), '2026-11-30T10:02:30Z', 2)).toEqual(['2026-11-30T10:05:00.000Z', '2026-11-30T10:10:00.000Z']);
  });

  it('day-of-month and day-of-week must both match (Friday the 13th), as node-cron does', () => {
    expect(next(compileEntry('e', { task: 't', cron: '0 0 13 * 5' }), '2026-01-01T00:00:00Z', 3)).toEqual(['2026-02-13T00:00:00.000Z', '2026-03-13T00:00:00.000Z', '2026-11-13T00:00:00.000Z']);
  });

  it('in a named timezone: local times, a time DST skips does not fire that day, a repeated one fires once', () => {
    const e = compileEntry('e', { task: 't', cron: '0 30 2 * * *', timezone: 'Europe/Berlin' });
    // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin; 02:30 does not exist.
    expect(next(e, '2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    // 2026-10-25: 03:00 goes back to 02:00; 02:30 happens twice, the entry fires once.
    const autumn = next(e, '2026-10-24T12:00:00Z', 3);
    expect(autumn.filter((s) => s.startsWith('2026-10-25'))).toHaveLength(1);
    expect(autumn).toEqual(['2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']); // its second occurrence (CET)
  });

  it('cron entries default to UTC, not the host timezone', () => {
    expect(next(compileEntry('e', { task: 't', cron: '0 0 9 * * *' }), '2026-06-01T00:00:00Z', 1)).toEqual(['2026-06-01T09:00:00.000Z']);
  });
});

describe('due slots and catch-up', () => {
  const now = T('2026-11-30T12:00:00.200Z');

  it('fires the slots that came due since the last fire, late ones (within the tolerance) too', () => {
    const e = compileEntry('e', { task: 't', every: '1s' });
    expect(dueSlots(e, T('2026-11-30T11:59:57Z'), now).map(iso)).toEqual(['2026-11-30T11:59:58.000Z', '2026-11-30T11:59:59.000Z', '2026-11-30T12:00:00.000Z']);
    expect(dueSlots(e, T('2026-11-30T12:00:00Z'), now)).toEqual([]); // fired already
  });

  it("missed while no beat ran: 'none' skips them, 'latest' (default) fires the newest, 'all' each (at most 100)", () => {
    const last = T('2026-11-30T11:00:00Z'); // an hour ago
    const mk = (catchUp?: 'none' | 'latest' | 'all') => compileEntry('e', { task: 't', every: '1m', ...(catchUp ? { catchUp } : {}) });
    const recent = (slots: number[]) => slots.filter((s) => now - s <= LATE_TOLERANCE_MS);
    expect(dueSlots(mk('none'), last, now).map(iso)).toEqual(['2026-11-30T12:00:00.000Z']);
    expect(dueSlots(mk(), last, now).map(iso)).toEqual(['2026-11-30T11:59:00.000Z', '2026-11-30T12:00:00.000Z']);
    const all = dueSlots(mk('all'), last, now);
    expect(all).toHaveLength(60);
    expect(recent(all).map(iso)).toEqual(['2026-11-30T12:00:00.000Z']);
    const everySecondForADay = dueSlots(compileEntry('e', { task: 't', cron: '* * * * * *', catchUp: 'all' }), now - 86_400_000, now);
    expect(everySecondForADay.length).toBe(MAX_CATCH_UP + LATE_TOLERANCE_MS / 1000);
    expect(iso(everySecondForADay.at(-1) as number)).toBe('2026-11-30T12:00:00.000Z');
  });

  it('a year-long gap on a per-second cron is still a few thousand steps, not thirty million', () => {
    const e = compileEntry('e', { task: 't', cron: '* * * * * *' });
    expect(dueSlots(e, now - 365 * 86_400_000, now)).toHaveLength(1 + LATE_TOLERANCE_MS / 1000);
  });

  it("a clock step neither skips nor doubles a slot: forward, the slots passed over are fired late; backward, nothing fires twice", () => {
    const e = compileEntry('e', { task: 't', every: '1s' });
    const last = T('2026-11-30T12:00:00Z');
    expect(dueSlots(e, last, last + 10_200)).toHaveLength(10);
    expect(dueSlots(e, last, last - 60_000)).toEqual([]);
    expect(dueSlots(e, last, last)).toEqual([]);
  });

  it('names the fire after entry and slot', () => {
    expect(fireId('sync-aria2', T('2026-11-30T12:00:00Z'))).toBe('beat:sync-aria2@2026-11-30T12:00:00.000Z');
  });
});

describe('bad entries are refused with the entry and the value', () => {
  const tasks = new Set(['schedule.sync']);
  it.each([
    [{ task: 'schedule.sync', cron: '61 * * * *' }, /beat entry "e": cron "61 \* \* \* \*": minute "61": not a valid minute: expected 0–59, a range/],
    [{ task: 'schedule.sync', cron: '* * * * 8' }, /weekday "8": not a valid weekday: expected 0–7 \(0 and 7 are Sunday\) or sun–sat/],
    [{ task: 'schedule.sync', cron: '* * *' }, /cron "\* \* \*": expected 5 fields .* got 3/],
    [{ task: 'schedule.sync', cron: '0 * * * *', timezone: 'Mars/Olympus' }, /unknown timezone "Mars\/Olympus"/],
    [{ task: 'schedule.nope', every: '1m' }, /task "schedule.nope" is not registered in the app/],
    [{ task: 'schedule.sync', every: '1m', cron: '* * * * *' }, /exactly one of "every" \(an interval\) and "cron"/],
    [{ task: 'schedule.sync' }, /exactly one of "every"/],
    [{ task: 'schedule.sync', every: '1m', catchUp: 'some' }, /catchUp "some": expected one of none, latest, all/],
    [{ task: 'schedule.sync', every: '1m', options: { jobId: 'x' } }, /"options.jobId" is beat's own/],
    [{ task: 'schedule.sync', every: '1m', timezone: 'UTC' }, /"timezone" applies to "cron" entries only/],
    [{ task: 'schedule.sync', every: '1m', kwargs: [1] }, /"kwargs" must be an object/],
  ])('%j', (spec, message) => {
    expect(() => compileEntry('e', spec as never, tasks)).toThrow(message);
  });
  it('names must be usable in ids', () => {
    expect(() => compileEntry('two words', { task: 'schedule.sync', every: '1m' })).toThrow('beat entry "two words": the name must be 1–100 letters, digits, _ . -');
  });
});
