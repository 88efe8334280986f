/** The producer API: bound context, progress, routing, bulk, send by name, ignoreResult, forget. */
import { describe, expect, it, vi } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { TaskqError } from '../../../src/errors.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('tasks and results', () => {
  it('bind: true passes a context with id, attempt, queue, node, signal and log', async () => {
    const app = testApp();
    const who = app.task('who', (ctx) => ({ id: ctx.id, attempt: ctx.attempt, queue: ctx.queue, node: ctx.node, aborted: ctx.signal.aborted, log: typeof ctx.log.info }), { bind: true });
    const node = await startWorker(app);
    const r = await who.delay();
    expect(await r.get({ timeout: 5000 })).toEqual({ id: r.id, attempt: 1, queue: 'default', node: node.name, aborted: false, log: 'function' });
  });

  it('progress reported by a task is visible to the producer while it runs', async () => {
    const app = testApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const steps = app.task('steps', async (ctx) => {
      await ctx.progress({ done: 1, of: 2 });
      await gate;
      return 'finished';
    }, { bind: true });
    await startWorker(app);
    const r = await steps.delay();
    expect(await waitFor('progress', () => r.progress(), (p) => p !== undefined)).toEqual({ done: 1, of: 2 });
    expect(await r.state()).toBe('STARTED');
    release();
    expect(await r.get({ timeout: 5000 })).toBe('finished');
  });

  it('routes tasks: call queue > task queue > exact route > glob route > default', async () => {
    const app = testApp({ routes: { 'video.fetch': 'q_download', 'video.*': 'q_analyze' } });
    const fetch = app.task('video.fetch', (ctx) => ctx.queue, { bind: true });
    const scan = app.task('video.scan', (ctx) => ctx.queue, { bind: true });
    const pinned = app.task('pinned', (ctx) => ctx.queue, { bind: true, queue: 'q_schedule' });
    const plain = app.task('plain', (ctx) => ctx.queue, { bind: true });
    await startWorker(app, { queues: ['q_download', 'q_analyze', 'q_schedule', 'default', 'other'] });
    const results = await Promise.all([fetch.delay(), scan.delay(), pinned.delay(), plain.delay(), plain.applyAsync([], {}, { queue: 'other' })]);
    expect(await Promise.all(results.map((r) => r.get({ timeout: 5000 })))).toEqual(['q_download', 'q_analyze', 'q_schedule', 'default', 'other']);
  });

  it('a worker only consumes its queues', async () => {
    const app = testApp();
    const t = app.task('elsewhere', () => 1, { queue: 'q_b' });
    await startWorker(app, { queues: ['q_a'] });
    const r = await t.delay();
    await expect(r.get({ timeout: 300 })).rejects.toMatchObject({ code: 'TASKQ_RESULT_TIMEOUT' });
    const client = await app.client();
    expect(await client.llen(app.keys.queue('q_b', 'waiting'))).toBe(1);
  });

  it('applyBulk sends many calls in one pipeline, results in order', async () => {
    const app = testApp();
    const sq = app.task('sq', (n: number) => n * n);
    await startWorker(app, { concurrency: 8 });
    const results = await sq.applyBulk(Array.from({ length: 200 }, (_, i) => [i] as [number]));
    expect(new Set(results.map((r) => r.id)).size).toBe(200);
    const values = await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => i * i));
  });

  it('app.send sends by name without the task code; the worker has it', async () => {
    const producer = testApp();
    const worker = testApp({ keyPrefix: producer.keys.prefix });
    worker.task('mul', (a: number, b: number) => a * b);
    await startWorker(worker);
    const r = await producer.send<number>('mul', [6, 7]);
    expect(await r.get({ timeout: 5000 })).toBe(42);
    expect(await producer.result(r.id).get({ timeout: 100 })).toBe(42); // any handle on the id works
  });

  it('ignoreResult stores nothing; get() says why instead of waiting forever', async () => {
    const app = testApp();
    const fire = app.task('fire', () => 'x', { ignoreResult: true });
    const node = await startWorker(app);
    const r = await fire.delay();
    await waitFor('the job to run', () => node.stats.processed, (n) => n === 1);
    expect(await r.state()).toBe('PENDING');
    await expect(r.get()).rejects.toMatchObject({ code: 'TASKQ_RESULT_DISABLED' });
  });

  it('forget() deletes a stored result; results expire after resultExpiresMs', async () => {
    const app = testApp({ resultExpiresMs: 60_000 });
    const one = app.task('one', () => 1);
    await startWorker(app);
    const r = await one.delay();
    await r.get({ timeout: 5000 });
    const client = await app.client();
    const ttl = await client.pttl(app.keys.result(r.id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await r.forget();
    expect(await r.state()).toBe('PENDING');
  });

  it('get() without a worker times out with a clear error', async () => {
    const app = testApp();
    const lonely = app.task('lonely', () => 1);
    const r = await lonely.delay();
    const err = (await r.get({ timeout: 200 }).catch((e: unknown) => e)) as TaskqError;
    expect(err.code).toBe('TASKQ_RESULT_TIMEOUT');
    expect(err.message).toContain(r.id);
    expect(err.message).toContain('taskq status');
  });

  it('get() waits without polling: one subscription, woken by the worker', async () => {
    const app = testApp();
    const later = app.task('later', () => 'late');
    const r = await later.applyAsync([], {}, { countdown: 0.5 });
    const client = await app.client();
    const reads = vi.spyOn(client, 'get');
    const waiting = r.get({ timeout: 10_000 });
    const worker = testApp({ keyPrefix: app.keys.prefix });
    worker.task('later', () => 'late');
    await startWorker(worker);
    expect(await waiting).toBe('late');
    // One read after subscribing, one after the worker's PUBLISH (no polling over the 500 ms).
    expect(reads.mock.calls.filter(([key]) => key === app.keys.result(r.id))).toHaveLength(2);
  });
});
