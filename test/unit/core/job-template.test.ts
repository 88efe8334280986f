import { describe, expect, it } from 'vitest';
import { JobTemplate } from '../../../src/core/job-template.js';
import { decodeJobRecord, encodeJobRecord, type JobRecord } from '../../../src/broker/message.js';
import { Router } from '../../../src/core/routing.js';
import { thrown } from '../../helpers/thrown.js';

const now = 1_700_000_000_000;
const router = new Router({ 'video.*': 'q_video' }, 'default');

describe('JobTemplate', () => {
  it('builds exactly the record encodeJobRecord makes, with stalls first', () => {
    const t = new JobTemplate('video.fetch', undefined, { retries: 2, backoff: 100, countdown: 5, expires: 60, ignoreResult: true }, router, now, true);
    const [id, record, due, event] = t.build([1, 'two', { three: [3] }], 'job-1', 'here');
    const expected: JobRecord = {
      stalls: 0,
      data: { task: 'video.fetch', args: [1, 'two', { three: [3] }] },
      options: {
        v: 1,
        timestamp: now,
        attempt: 1,
        retries: 2,
        backoff: { type: 'fixed', delayMs: 100 },
        eta: now + 5000,
        expires: now + 60_000,
        ignoreResult: true,
      },
    };
    expect(record).toBe(encodeJobRecord(expected));
    expect(decodeJobRecord(record as string, 'job-1', 'q_video')).toEqual(expected);
    expect([id, due]).toEqual(['job-1', now + 5000]);
    expect(JSON.parse(event as string)).toEqual({ id: 'job-1', task: 'video.fetch', queue: 'q_video', args: '[1,"two",{"three":[3]}]', eta: now + 5000, expires: now + 60_000 });
  });

  it('shortens the arguments in the event, never in the record; no event when events are off', () => {
    const long = 'x'.repeat(2000);
    const [, record, , event] = new JobTemplate('t', undefined, {}, router, now, true).build([long], 'a', 'here');
    expect(JSON.parse(record as string).data.args).toEqual([long]);
    expect((JSON.parse(event as string) as { args: string }).args).toHaveLength(513);
    expect(new JobTemplate('t', undefined, {}, router, now, false).build([], 'a', 'here')[3]).toBe('');
  });

  it('serves later calls when no option depends on the time of the call, each record with its own send time', () => {
    const t = new JobTemplate('video.fetch', undefined, { retries: 1, ignoreResult: true }, router, now, false);
    expect(t.reusable).toBe(true);
    const later = now + 12_345;
    const [, record] = t.build(['a'], 'job-2', undefined, '', later);
    const expected: JobRecord = { stalls: 0, data: { task: 'video.fetch', args: ['a'] }, options: { v: 1, timestamp: later, attempt: 1, retries: 1, ignoreResult: true } };
    expect(record).toBe(encodeJobRecord(expected));
    for (const timed of [{ countdown: 5 }, { eta: new Date(now + 1000) }, { expires: 60 }]) {
      expect(new JobTemplate('t', undefined, timed, router, now, false).reusable).toBe(false);
    }
  });

  it('flat object literals (the fast path) are sent as JSON has them; anything JSON would change in one is still refused', () => {
    const t = new JobTemplate('t', undefined, {}, router, now, false);
    const args = [{ id: 7, url: 'http://x/é', ok: true, none: null }, Object.assign(Object.create(null), { n: 1 }), 'three'];
    expect(JSON.parse(t.build(args, 'a', 'here')[1] as string).data.args).toEqual(JSON.parse(JSON.stringify(args)));
    expect((thrown(() => t.build([{ n: Number.NaN }], 'a', 'here')) as Error).message).toContain('args[0].n is NaN');
    expect((thrown(() => t.build([{ when: new Map() }], 'a', 'here')) as Error).message).toContain('args[0].when is a Map');
    expect((thrown(() => t.build([{ big: 1n }], 'a', 'here')) as Error).message).toContain('args[0].big is a BigInt');
    class Point {
      constructor(readonly x: number) {}
      toJSON(): string {
        return `p${this.x}`;
      }
    }
    expect(JSON.parse(t.build([new Point(2)], 'a', 'here')[1] as string).data.args).toEqual(['p2']); // its toJSON, as before
  });

  it('refuses bad arguments and job ids, naming them', () => {
    const t = new JobTemplate('t', undefined, {}, router, now, true);
    expect((thrown(() => t.build([new Set([1])], 'a', 'here')) as Error).message).toContain('args[0] is a Set');
    expect((thrown(() => t.build('nope' as unknown as unknown[], 'a', 't.applyBulk (call 3)')) as Error).message).toBe('t.applyBulk (call 3): args must be an array, got string');
    expect((thrown(() => JobTemplate.checkJobId('t', 'has space')) as Error).message).toContain('jobId must be 1–200 of letters');
    expect(JobTemplate.checkJobId('t', 'user:7/thumb')).toBe('user:7/thumb');
  });
});
