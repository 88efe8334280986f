/**
 * Cases a code review found: revocation of jobs a node holds but has not started, arguments posing
 * as job options, wake-up of every idle node for high-priority work, no re-delivery after a gap in
 * stall checks, a reused job id, and no retry of a job revoked while it ran.
 */
import { describe, expect, it } from 'vitest';
import { stallChecker, startWorker, testApp } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('review fixes', () => {
  it('a prefetched job revoked before it starts never runs', async () => {
    const app = testApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const step = app.task('step', async (label: string) => {
      ran.push(label);
      if (label === 'first') await gate;
    });
    await step.delay('first');
    const second = await step.delay('second');
    const client = await app.client();
    await startWorker(app, { concurrency: 1, prefetch: 1 });
    await waitFor('the second job to be prefetched', () => client.llen(app.keys.queue('default', 'waiting')), (n) => n === 0);
    expect(await second.revoke()).toBe('REVOKED-NOW');
    await expect(second.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    release();
    await waitFor('the node to drop it', () => client.llen(app.keys.queue('default', 'active')), (n) => n === 0);
    expect(ran).toEqual(['first']);
    expect(await second.state()).toBe('REVOKED');
  });

  it('a job waiting for its rate-limit slot is dropped when revoked', async () => {
    const app = testApp();
    const ran: number[] = [];
    const paced = app.task('paced', (n: number) => ran.push(n), { rateLimit: '2/s' });
    await paced.delay(1);
    const second = await paced.delay(2);
    await startWorker(app, { concurrency: 2 });
    await waitFor('the first to run', () => ran.length, (n) => n === 1);
    // Held for its slot, it has not started: STARTED is written only when it really starts.
    expect(await second.revoke({ terminate: true })).toBe('REVOKED-NOW');
    await expect(second.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(ran).toEqual([1]);
  });

  it('arguments cannot pose as job options', async () => {
    const app = testApp();
    const echo = app.task('echo', (x: unknown) => x);
    await startWorker(app);
    const sneaky = { options: { v: 1, expires: 1, ignoreResult: true, attempt: 9 } };
    expect(await (await echo.delay(sneaky)).get({ timeout: 5000 })).toEqual(sneaky);
  });

  it('high-priority work wakes every idle node, not just one', async () => {
    const app = testApp();
    const nap = app.task('nap', () => new Promise((r) => setTimeout(r, 150)));
    const nodes = await Promise.all([1, 2, 3].map(() => startWorker(app, { concurrency: 1 })));
    const sent = await nap.applyBulk(Array.from({ length: 6 }, () => []), { priority: 'high' });
    await Promise.all(sent.map((r) => r.get({ timeout: 5000 })));
    expect(nodes.filter((n) => n.stats.processed > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('after a gap in stall checks (an outage), the next check only marks: live jobs are not re-delivered', async () => {
    const app = testApp({ stallIntervalMs: 100 });
    const job = app.task('job', () => 'ok');
    const r = await job.delay();
    const client = await app.client();
    const k = app.keys;
    const consumer = await stallChecker(app);
    await client.rpoplpush(k.queue('default', 'waiting'), k.queue('default', 'active')); // a live worker took it
    expect(await consumer.checkStalls()).toEqual({ requeued: [], failed: [] }); // marks it
    await client.set(k.queue('default', 'stallLast'), String(Date.now() - 1000)); // as if checks stopped for 1 s
    await client.del(k.queue('default', 'stallBlock'));
    expect(await consumer.checkStalls()).toEqual({ requeued: [], failed: [] }); // gap: marks again, no sweep
    await client.del(k.queue('default', 'stallBlock'));
    expect(await consumer.checkStalls()).toEqual({ requeued: [r.id], failed: [] }); // no gap: a real stall
  });

  it('a job id used again after its job finished gets a fresh result, not the old one', async () => {
    const app = testApp();
    let n = 0;
    const t = app.task('t', () => ++n);
    await startWorker(app);
    expect(await (await t.applyAsync([], {}, { jobId: 'order-7' })).get({ timeout: 5000 })).toBe(1);
    expect(await (await t.applyAsync([], {}, { jobId: 'order-7' })).get({ timeout: 5000 })).toBe(2);
  });

  it('a job revoked while it runs is not retried after it fails', async () => {
    const app = testApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    const flaky = app.task('flaky', async () => {
      runs++;
      await gate;
      throw new Error('fails');
    }, { retries: 3, backoff: 10 });
    await startWorker(app);
    const r = await flaky.delay();
    await waitFor('it to run', () => runs, (x) => x === 1);
    expect(await r.revoke()).toBe('STARTED');
    release();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(runs).toBe(1);
  });
});
