/** Countdown/ETA, expiry of stalled jobs, dead letters, and job ids. */
import { describe, expect, it } from 'vitest';
import { stallChecker, startWorker, strandAndSweep, testApp } from '../../helpers/apps.js';
import { listDead, purgeQueue, retryDead } from '../../../src/core/queue-admin.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('countdown and ETA', () => {
  it('an ETA longer than the stall interval runs once, not before its time', async () => {
    const app = testApp({ stallIntervalMs: 200 });
    const runs: number[] = [];
    const later = app.task('later', () => runs.push(Date.now()));
    await startWorker(app, { taskEvents: true, concurrency: 2 });
    await startWorker(app, { taskEvents: true, concurrency: 2 }); // two nodes: both run stall checks
    const sent = Date.now();
    const r = await later.applyAsync([], {}, { countdown: 1.5 });
    await r.get({ timeout: 10_000 });
    expect(runs).toHaveLength(1);
    expect((runs[0] as number) - sent).toBeGreaterThanOrEqual(1500);
    // And no copy is left anywhere that could run it again.
    const client = await app.client();
    const k = app.keys;
    expect(await client.zcard(k.queue('default', 'delayed'))).toBe(0);
    expect(await client.llen(k.queue('default', 'waiting'))).toBe(0);
    expect(await client.llen(k.queue('default', 'active'))).toBe(0);
    expect(await client.hexists(k.queue('default', 'jobs'), r.id)).toBe(0);
  });

  it('eta as a Date', async () => {
    const app = testApp();
    const at = app.task('at', () => Date.now());
    await startWorker(app, { taskEvents: true });
    const eta = new Date(Date.now() + 400);
    const r = await at.applyAsync([], {}, { eta });
    expect(await r.get({ timeout: 5000 })).toBeGreaterThanOrEqual(eta.getTime());
  });
});

describe('stalls and dead letters', () => {
  it('a job that stalls more than maxStalls times fails ("stalled"), is listed dead, and can be retried', async () => {
    const app = testApp({ stallIntervalMs: 150, maxStalls: 1 });
    const job = app.task('job', () => 'ok');
    const r = await job.delay();
    const client = await app.client();
    const k = app.keys;
    const consumer = await stallChecker(app);
    const takeAndDie = (): Promise<string | null> => client.rpoplpush(k.queue('default', 'waiting'), k.queue('default', 'active'));
    const nextCheck = async (): Promise<{ requeued: string[]; failed: string[] }> => {
      await waitFor('the stall-check block to expire', () => client.pttl(k.queue('default', 'stallBlock')), (ttl) => ttl < 0);
      return consumer.checkStalls();
    };

    expect(await takeAndDie()).toBe(r.id); // a worker takes it and dies
    expect(await nextCheck()).toEqual({ requeued: [], failed: [] }); // marks it
    expect(await nextCheck()).toEqual({ requeued: [r.id], failed: [] }); // stall 1: re-delivered
    expect(await takeAndDie()).toBe(r.id); // taken again, dies again
    expect(await nextCheck()).toEqual({ requeued: [], failed: [] });
    expect(await nextCheck()).toEqual({ requeued: [], failed: [r.id] }); // stall 2 > maxStalls: dead

    const info = await r.info();
    expect(info).toMatchObject({ state: 'FAILURE', reason: 'stalled', task: 'job' });
    expect(info?.error?.message).toMatch(/stalled 2 times \(max 1\)/);
    const dead = await listDead(app, ['default']);
    expect(dead).toMatchObject([{ id: r.id, task: 'job', stalls: 2, queue: 'default' }]);

    expect(await retryDead(app, 'default', [r.id])).toEqual([r.id]);
    expect(await r.state()).toBe('PENDING');
    await startWorker(app, { taskEvents: true });
    expect(await r.get({ timeout: 5000 })).toBe('ok');
    expect(await listDead(app, ['default'])).toEqual([]);
  });
});

describe('the stall check, seen by a caller', () => {
  it('a job it fails for good wakes a get() that waits for it (no polling)', async () => {
    const app = testApp({ stallIntervalMs: 200, maxStalls: 0 });
    const r = await app.task('job', () => 'ok').delay();
    const waiting = r.get({ timeout: 20_000 }).catch((err: unknown) => err);
    await strandAndSweep(app, r.id);
    const started = performance.now();
    expect(await waiting).toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    expect(performance.now() - started).toBeLessThan(5000); // woken, not timed out
    expect(await r.info()).toMatchObject({ state: 'FAILURE', reason: 'stalled' });
  });

  it('a re-delivered job goes to the front of its queue, not behind the backlog', async () => {
    const app = testApp({ stallIntervalMs: 200 });
    const t = app.task('job', (n: number) => n);
    const [a, b, c] = [await t.delay(1), await t.delay(2), await t.delay(3)];
    await strandAndSweep(app, a.id); // taken by a node that died
    const client = await app.client();
    // Workers pop from the right: the front of the queue is the list's tail.
    expect((await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).reverse()).toEqual([a.id, b.id, c.id]);
  });

  it('arguments that look like options ("acksLate":false) do not make a re-deliverable job fail as lost', async () => {
    const app = testApp({ stallIntervalMs: 200 });
    const r = await app.task('job', (options: object) => options).delay({ acksLate: false });
    await strandAndSweep(app, r.id);
    const client = await app.client();
    expect(await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).toEqual([r.id]);
    expect(await r.state()).not.toBe('FAILURE');
  });
});

describe('purge', () => {
  it('deletes the waiting jobs of every priority and counts them all', async () => {
    const app = testApp();
    const t = app.task('t', () => 1);
    for (const priority of ['high', 'normal', 'low'] as const) await t.applyAsync([], {}, { priority });
    expect(await purgeQueue(app, 'default')).toBe(3);
    const client = await app.client();
    expect(await client.hlen(app.keys.queue('default', 'jobs'))).toBe(0);
  });
});

describe('job ids', () => {
  it('sending an id that is already queued is a no-op returning the same result', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('t', () => ++runs);
    const a = await t.applyAsync([], {}, { jobId: 'order-42' });
    const b = await t.applyAsync([], {}, { jobId: 'order-42' });
    expect(a.id).toBe('order-42');
    expect(b.id).toBe('order-42');
    await startWorker(app, { taskEvents: true });
    expect(await a.get({ timeout: 5000 })).toBe(1);
    expect(runs).toBe(1);
  });
});

describe('expiry', () => {
  it('a job not started before it expires is REVOKED (expired) and never runs', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('perishable', () => ++runs);
    const stale = await t.applyAsync([], {}, { expires: new Date(Date.now() - 1) });
    const fresh = await t.applyAsync([], {}, { expires: 60 });
    await startWorker(app, { taskEvents: true });
    expect(await fresh.get({ timeout: 5000 })).toBe(1);
    await expect(stale.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED', message: `task ${stale.id} was revoked: expired` });
    expect(await stale.info()).toMatchObject({ state: 'REVOKED', reason: 'expired', task: 'perishable' });
    expect(runs).toBe(1);
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), stale.id)).toBe(0);
    const reader = new EventReader(client, app.keys.events, '0');
    const revoked = (await reader.read()).filter((e) => e.type === 'task-revoked');
    expect(revoked.map((e) => e.data)).toMatchObject([{ id: stale.id, reason: 'expired', expired: true }]);
  });
});
