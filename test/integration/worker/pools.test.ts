/**
 * Threads and processes pools: a hard time limit stops even a busy CPU loop (the child is killed and
 * replaced, the node keeps serving), crashes fail the job and bring a fresh child, children are
 * recycled by task count and by memory, and revoke --terminate kills the running code.
 */
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../../../src/core/app.js';
import type { TaskFailedError } from '../../../src/errors.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * The fixture app, loaded in this process too (the node needs its task definitions), on the test
 * Redis with the test's prefix; the environment also reaches the pool children spawned meanwhile.
 */
async function fixtureApp(prefix: string): Promise<App> {
  const saved = { url: process.env.TASKQ_BROKER_URL, prefix: process.env.TASKQ_KEY_PREFIX };
  process.env.TASKQ_BROKER_URL = inject('redisUrl');
  process.env.TASKQ_KEY_PREFIX = prefix;
  onTestFinished(() => {
    process.env.TASKQ_BROKER_URL = saved.url;
    process.env.TASKQ_KEY_PREFIX = saved.prefix;
    if (saved.url === undefined) delete process.env.TASKQ_BROKER_URL;
    if (saved.prefix === undefined) delete process.env.TASKQ_KEY_PREFIX;
  });
  // A fresh module instance per test (the query defeats the import cache).
  const mod = (await import(`${pathToFileURL(fixture('basic.mjs')).href}?${prefix}`)) as { default: App };
  onTestFinished(() => mod.default.close());
  return mod.default;
}

for (const pool of ['processes', 'threads'] as const) {
  describe(`${pool} pool`, () => {
    it('a busy loop with a 1 s hard limit is stopped, and the next task runs on the same node', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const started = Date.now();
      const spin = await producer.send('spin', [], {}, { timeLimitMs: 1000 });
      const next = await producer.send('whoami', []);
      const err = (await spin.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
      expect(err.remoteName).toBe('TimeLimitExceeded');
      expect(err.message).toContain('the task was stopped');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await next.get({ timeout: 10_000 })).toMatch(/^\d+:\d+$/);
    });

    it('keyword arguments reach the handler in a child, after the positional ones and in ctx.kwargs', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      expect(await (await producer.send('greet', ['ada'], { greeting: 'hi' })).get({ timeout: 10_000 })).toEqual({ text: 'hi, ada', ctxKwargs: { greeting: 'hi' } });
      expect(await (await producer.send('greet', ['bob'])).get({ timeout: 10_000 })).toEqual({ text: 'hello, bob', ctxKwargs: {} });
    });

    it('rejectOnWorkerLost: a job whose child dies under it goes back to its queue and runs again', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const r = await producer.send('dieOnce', []);
      expect(await r.get({ timeout: 10_000 })).toBe('second run');
      const client = await producer.client();
      expect(await client.hget(`${producer.keys.prefix}:runs`, r.id)).toBe('2');
      expect((await producer.result(r.id).info())?.attempt).toBe(1);
    });

    it('rejectOnWorkerLost is bounded: a job that kills every child it runs in fails once it has lost maxStalls + 1 workers', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const r = await producer.send('alwaysDie', []);
      await expect(r.get({ timeout: 20_000 })).rejects.toMatchObject({ remoteName: 'WorkerLostError' });
      const maxStalls = app.config.maxStalls;
      expect(await r.info()).toMatchObject({ state: 'FAILURE', reason: `worker lost ${maxStalls + 1} times (maxStalls ${maxStalls})` });
      expect(await (await producer.client()).hget(`${producer.keys.prefix}:runs`, r.id)).toBe(String(maxStalls + 1));
    });

    it('acksLate: false wins over rejectOnWorkerLost: a job whose child dies runs once and fails (at most once)', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const r = await producer.send('dieEarlyAcked', []);
      await expect(r.get({ timeout: 10_000 })).rejects.toMatchObject({ remoteName: 'WorkerLostError' });
      expect(await (await producer.client()).hget(`${producer.keys.prefix}:runs`, r.id)).toBe('1');
    });

    it('ctx.retry({ maxRetries, exc }) in a child: the task fails with exc once no retry is left', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const r = await producer.send('retryExc', []);
      const err = (await r.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
      expect(err.remoteName).toBe('Upstream');
      expect(err.message).toContain('upstream down (attempt 2)');
      expect((await r.info())?.reason).toBe('max retries (1) exceeded');
    });

    it('a child that exits under a job fails the job (WorkerLostError) and is replaced', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const before = await (await producer.send('whoami', [])).get({ timeout: 10_000 });
      const crash = await producer.send('crash', ['exit']);
      const err = (await crash.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
      expect(err.remoteName).toBe('WorkerLostError');
      expect(err.message).toMatch(/pool child 1 .* exited with code 3 while running crash/);
      const after = await (await producer.send('whoami', [])).get({ timeout: 10_000 });
      expect(after).not.toBe(before);
    });

    it('recycles a child after --max-tasks-per-child tasks', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1, maxTasksPerChild: 2 });
      const ids: unknown[] = [];
      for (let i = 0; i < 3; i++) ids.push(await (await producer.send('whoami', [])).get({ timeout: 10_000 }));
      expect(ids[0]).toBe(ids[1]);
      expect(ids[2]).not.toBe(ids[1]);
    });

    it('revoke --terminate kills the running code', async () => {
      const producer = testApp();
      const app = await fixtureApp(producer.keys.prefix);
      const node = await startWorker(app, { pool, appModule: fixture('basic.mjs'), concurrency: 1 });
      const spin = await producer.send('spin', []);
      await waitFor('the spin to start', () => spin.state(), (s) => s === 'STARTED');
      expect(await spin.revoke({ terminate: true })).toBe('TERMINATING');
      await expect(spin.get({ timeout: 10_000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
      expect(await (await producer.send('add', [1, 2])).get({ timeout: 10_000 })).toBe(3);
      expect(node.stats.processed).toBe(2);
    });
  });
}

describe('processes pool only', () => {
  it('a native crash (abort) fails the job and the node survives', async () => {
    const producer = testApp();
    // A worker process of its own: the child's native stack dump lands in its output, not the test run's.
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: producer.keys.prefix };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '1'], { env });
    const crash = await producer.send('crash', ['abort']);
    const err = (await crash.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('WorkerLostError');
    expect(err.message).toMatch(/was killed \(SIGABRT\)/);
    expect(await (await producer.send('add', [2, 2])).get({ timeout: 10_000 })).toBe(4);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('recycles a child whose memory passes --max-memory-per-child after a task', async () => {
    const producer = testApp();
    const app = await fixtureApp(producer.keys.prefix);
    await startWorker(app, { pool: 'processes', appModule: fixture('basic.mjs'), concurrency: 1, maxMemoryPerChildKb: 200_000 });
    const first = await (await producer.send('whoami', [])).get({ timeout: 10_000 });
    expect(await (await producer.send('hog', [50])).get({ timeout: 10_000 })).toBe(50); // ~ +50 MB: still under
    expect(await (await producer.send('whoami', [])).get({ timeout: 10_000 })).toBe(first);
    await (await producer.send('hog', [250])).get({ timeout: 10_000 }); // over 200,000 KiB now
    expect(await (await producer.send('whoami', [])).get({ timeout: 10_000 })).not.toBe(first);
  });

  it('a soft limit reaches the task inside the child through ctx.signal', async () => {
    const producer = testApp();
    const app = await fixtureApp(producer.keys.prefix);
    await startWorker(app, { pool: 'processes', appModule: fixture('basic.mjs'), concurrency: 1 });
    const r = await producer.send('waitAbort', [], {}, { softTimeLimitMs: 200 });
    expect(await r.get({ timeout: 10_000 })).toBe('SoftTimeLimitExceeded');
  });

  it('a pool without the app module path is a clear error', async () => {
    const app = testApp();
    await expect(startWorker(app, { pool: 'processes' })).rejects.toThrow(/the processes pool loads the app in each child: give the app's module/);
  });
});

describe('autoscale', () => {
  it('grows the processes pool to max under a backlog and shrinks it back to min when idle', async () => {
    const producer = testApp();
    const app = await fixtureApp(producer.keys.prefix);
    const node = await startWorker(app, { pool: 'processes', appModule: fixture('basic.mjs'), autoscale: { max: 3, min: 1 } });
    expect(node.concurrency).toBe(1);
    const jobs = await Promise.all(Array.from({ length: 12 }, () => producer.send('slow', [300])));
    await waitFor('the pool to grow to 3', () => node.concurrency, (c) => c === 3, { timeoutMs: 10_000 });
    await Promise.all(jobs.map((j) => j.get({ timeout: 20_000 })));
    await waitFor('the pool to shrink to 1', () => node.concurrency, (c) => c === 1, { timeoutMs: 20_000 });
    const pids = new Set(await Promise.all([1, 2, 3].map(async () => (await producer.send('whoami', [])).get({ timeout: 10_000 }))));
    expect(pids.size).toBe(1); // one child left
  }, 40_000);
});

describe('a pool whose children cannot start', () => {
  it('retries them with backoff; meanwhile the node takes nothing and says why in its heartbeat; it heals', async () => {
    const app = testApp();
    const marker = join(mkdtempSync(join(tmpdir(), 'taskq-broken-')), 'broken');
    onTestFinished(() => rmSync(marker, { force: true }));
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_BROKEN_MARKER: marker, TASKQ_HEARTBEAT_MS: '200' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '1', '-n', 'fragile@%h', '-l', 'info'], { env });
    writeFileSync(marker, ''); // from now on a fresh child cannot load the app
    const crash = await app.send('crash', ['exit']);
    await expect(crash.get({ timeout: 10_000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    await waitFor('the node to retry its child', () => worker.output(), (out) => out.includes('could not start a pool child; retrying'));
    const client = await app.client();
    const beat = async (): Promise<{ problem?: string }> => JSON.parse((await client.get(app.keys.node(`fragile@${hostname()}`))) ?? '{}') as { problem?: string };
    await waitFor('its heartbeat to say why it takes nothing', beat, (b) => /no pool child can start/.test(b.problem ?? ''));
    const r = await app.send('add', [1, 2]);
    // Not taken while the pool is down: the job waits in its queue for any node that can run it.
    expect(await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).toEqual([r.id]);
    rmSync(marker);
    expect(await r.get({ timeout: 40_000 })).toBe(3);
    await waitFor('the heartbeat to clear', beat, (b) => b.problem === undefined);
    expect(worker.child.exitCode).toBe(null);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('gives back the jobs it held for a child (prefetched) once no child can start: they wait in their queue, in order', async () => {
    const app = testApp();
    const marker = join(mkdtempSync(join(tmpdir(), 'taskq-broken-')), 'broken');
    onTestFinished(() => rmSync(marker, { force: true }));
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_BROKEN_MARKER: marker };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '1', '--prefetch-multiplier', '4', '-n', 'holder@%h', '-l', 'info'], { env });
    const client = await app.client();
    const crash = await app.send('crashWhenTold', []);
    await waitFor('it to run', () => crash.state(), (s) => s === 'STARTED');
    writeFileSync(marker, ''); // from now on a fresh child cannot load the app
    const held = [await app.send('add', [1, 2]), await app.send('add', [3, 4])];
    await waitFor('the node to hold both', () => client.llen(app.keys.queue('default', 'waiting')), (n) => n === 0);
    await client.rpush(`${app.keys.prefix}:tell:${crash.id}`, 'go');
    await waitFor('the node to stop taking work', () => worker.output(), (out) => out.includes('stopped taking work'));
    // The front of the list is its tail: the oldest runs first, as if never taken.
    await waitFor('the held jobs back in their queue', () => client.lrange(app.keys.queue('default', 'waiting'), 0, -1), (ids) => ids.length === 2);
    expect((await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).reverse()).toEqual(held.map((r) => r.id));
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
    rmSync(marker);
    expect(await Promise.all(held.map((r) => r.get({ timeout: 40_000 })))).toEqual([3, 7]);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
