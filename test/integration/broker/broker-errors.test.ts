/**
 * Broker errors reach callers with a taskq code that says what happened (out of memory, read-only
 * replica), the CLI prints them without a stack, and a worker whose outcome write fails keeps the job
 * and writes it once Redis accepts writes again. Each test has a private redis-server.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { EventReader } from '../../../src/events/event-reader.js';
import { WorkerNode } from '../../../src/worker/worker-node.js';
import { UnrecoverableError } from '../../../src/errors.js';
import { listDead, retryDead } from '../../../src/core/queue-admin.js';
import { silent } from '../../helpers/apps.js';
import { createApp, type App } from '../../../src/core/app.js';
import { fixture, runTaskq, spawnTaskq } from '../../helpers/processes.js';
import { privateRedis } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait-for.js';
import { switchingProxy } from '../../helpers/proxy.js';
import { SEND_LINE_NAME } from '../../../src/broker/script-sender.js';


function appOn(url: string, options: { stallIntervalMs?: number } = {}): App {
  const app = createApp({ broker: url, keyPrefix: 'errs', ...options });
  onTestFinished(() => app.close());
  app.task('add', (a: number, b: number) => a + b);
  return app;
}

/** Sets maxmemory below what Redis uses (policy noeviction): writes are refused until `free()`. */
async function exhaustMemory(app: App): Promise<() => Promise<void>> {
  const client = await app.client();
  await client.config('SET', 'maxmemory-policy', 'noeviction');
  await client.config('SET', 'maxmemory', '1');
  return async () => {
    await client.config('SET', 'maxmemory', '0');
  };
}

describe('Redis out of memory', () => {
  it('delay(), applyBulk() and taskq call fail with TASKQ_BROKER_OOM, saying what to do', async () => {
    const redis = await privateRedis();
    const app = appOn(redis.url);
    const add = app.tasks.get('add')!;
    await app.client();
    await exhaustMemory(app);
    await expect(app.send('add', [1, 2])).rejects.toMatchObject({ code: 'TASKQ_BROKER_OOM', message: expect.stringContaining('maxmemory') });
    await expect(app.send('add', [1, 2])).rejects.toMatchObject({ exitCode: 75 });
    expect(add.name).toBe('add');
    const task = app.task('sum', (...n: number[]) => n.reduce((a, b) => a + b, 0));
    await expect(task.applyBulk([[1], [2]])).rejects.toMatchObject({ code: 'TASKQ_BROKER_OOM', message: expect.stringContaining('0 of 2 jobs stored') });

    const cli = await runTaskq(['call', 'add', '[1, 2]'], { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'errs' });
    expect(cli.code).toBe(75);
    expect(cli.stderr).toContain('[TASKQ_BROKER_OOM]');
    expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack
  });

  it('dead retry fails with TASKQ_BROKER_OOM too, from the API and the CLI, and the job stays dead', async () => {
    const redis = await privateRedis();
    const app = appOn(redis.url);
    app.task('doomed', () => {
      throw new UnrecoverableError('no');
    });
    const node = new WorkerNode(app, { queues: ['default'], concurrency: 1, logger: silent });
    await node.start();
    const r = await app.send('doomed', []);
    await waitFor('it to be dead', () => listDead(app, ['default']), (dead) => dead.some((d) => d.id === r.id));
    await node.stop();
    const free = await exhaustMemory(app);
    await expect(retryDead(app, 'default', [r.id])).rejects.toMatchObject({ code: 'TASKQ_BROKER_OOM' });
    const cli = await runTaskq(['dead', 'retry', r.id, '-Q', 'default'], { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'errs' });
    expect(cli.code, cli.stderr).toBe(75);
    expect(cli.stderr).toContain('[TASKQ_BROKER_OOM]');
    expect(cli.stderr).not.toMatch(/internal error|\n\s+at /);
    await free();
    expect((await listDead(app, ['default'])).map((d) => d.id)).toEqual([r.id]);
  });

});

describe('Redis refusing writes while a job runs (MISCONF: it cannot save to disk)', () => {
  it('the worker keeps the job, retries its outcome with backoff, and records it once Redis accepts writes', async () => {
    const redis = await privateRedis({ appendonly: false });
    const app = appOn(redis.url, { stallIntervalMs: 300 });
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'errs', TEST_STALL_MS: '300' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '1', '-l', 'info', '-E', '--prefetch-multiplier', '3'], { env });
    const r = await app.send('nap', [1500]);
    const client = await app.client();
    await waitFor('it to start', () => r.state(), (s) => s === 'STARTED');
    // Two more held by the node (prefetched): the next one's start is asked with the outcome that fails.
    const held = [await app.send('nap', [10]), await app.send('nap', [10])];
    await waitFor('the node to hold them', () => client.llen('errs:default:waiting'), (n) => n === 0);
    // A save into a folder that is gone fails, and Redis then refuses every write.
    const [, dir] = (await client.config('GET', 'dir')) as [string, string];
    rmSync(dir, { recursive: true });
    await client.config('SET', 'save', '3600 1'); // writes are refused on a failed save only when saves are configured
    await client.bgsave();
    await waitFor('the save to fail', () => client.info('persistence'), (info) => info.includes('rdb_last_bgsave_status:err'));
    await waitFor('the worker to retry its write', () => worker.output(), (out) => out.includes('could not record job outcomes; retrying'));
    expect(await r.state()).toBe('STARTED');
    await client.config('SET', 'stop-writes-on-bgsave-error', 'no');
    await client.config('SET', 'save', ''); // else its shutdown would try to save into the missing folder
    expect(await r.get({ timeout: 10_000 })).toBe('napped');
    expect(await Promise.all(held.map((h) => h.get({ timeout: 10_000 })))).toEqual(['napped', 'napped']);
    await waitFor('the worker to say writes work again', () => worker.output(), (out) => out.includes('job outcomes are recorded again'));
    const events = await new EventReader(client, 'errs:events', '0').read();
    const starts = (id: string): number => events.filter((e) => e.type === 'task-started' && e.data.id === id).length;
    expect(starts(r.id)).toBe(1); // never re-delivered
    // The held jobs' starts, asked with the writes that failed, were asked again, not dropped.
    expect(held.map((h) => starts(h.id))).toEqual([1, 1]);
    expect(await client.llen('errs:default:active')).toBe(0);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});

describe('outcome writes failing for long', () => {
  it('the node stops taking work and says why in its heartbeat; it takes work again once writes succeed', async () => {
    const redis = await privateRedis({ appendonly: false });
    const app = appOn(redis.url);
    app.task('boom', () => {
      throw new UnrecoverableError('on purpose');
    });
    app.task('fine', () => 'fine');
    const node = new WorkerNode(app, { concurrency: 1, outcomeTroubleMs: 300, logger: silent, name: 'troubled@test' });
    onTestFinished(() => node.stop({ timeoutMs: 1000 }));
    await node.start();
    const client = await app.client();
    // A broken dead-letter key: a failure cannot be recorded (its job stays owned, the write is retried).
    await client.set(app.keys.queue('default', 'dead'), 'not a zset');
    const failed = await app.send('boom', []);
    const beat = async (): Promise<{ problem?: string }> => JSON.parse((await client.get(app.keys.node('troubled@test'))) ?? '{}') as { problem?: string };
    await waitFor('its heartbeat to say why it takes nothing', beat, (b) => /outcome writes failing/.test(b.problem ?? ''));
    const next = await app.send('fine', []);
    expect(await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).toEqual([next.id]); // not taken meanwhile
    expect(await failed.state()).toBe('STARTED');
    await client.del(app.keys.queue('default', 'dead'));
    await expect(failed.get({ timeout: 10_000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    // The refused attempts left nothing half-written: the failure is recorded whole, dead letter included.
    expect((await listDead(app, ['default'])).map((d) => d.id)).toEqual([failed.id]);
    expect(await next.get({ timeout: 10_000 })).toBe('fine');
    await waitFor('the heartbeat to clear', beat, (b) => b.problem === undefined);
  });
});

describe('a read-only replica', () => {
  it('writes fail with TASKQ_BROKER_READONLY after a few reconnects, not forever', async () => {
    const primary = await privateRedis();
    const replica = await privateRedis();
    await (await createClientFor(replica.url)).call('REPLICAOF', '127.0.0.1', new URL(primary.url).port);
    const app = appOn(replica.url);
    await expect(app.send('add', [1, 2])).rejects.toMatchObject({ code: 'TASKQ_BROKER_READONLY', message: expect.stringContaining('primary') });
  });

  it('after a failover, READONLY makes the client reconnect and send again: the write lands on the new primary', async () => {
    const primary = await privateRedis();
    const replica = await privateRedis();
    await (await createClientFor(replica.url)).call('REPLICAOF', '127.0.0.1', new URL(primary.url).port);
    const proxy = await switchingProxy(replica.url);
    const app = appOn(proxy.url);
    const client = await app.client();
    await client.ping(); // connected to the replica, which answers reads
    let reconnected = 0;
    client.on('ready', () => reconnected++);
    proxy.point(primary.url); // the failover: new connections reach the primary
    const r = await app.send('add', [1, 2]);
    expect(reconnected).toBe(1);
    const onPrimary = await createClientFor(primary.url);
    expect(await onPrimary.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(1);
  });
});

describe("a failover while the producer's own connection is up", () => {
  it('the send READONLY refuses there goes on the app connection, which follows the failover; the line reopens on the new primary', async () => {
    const primary = await privateRedis();
    const next = await privateRedis();
    const proxy = await switchingProxy(primary.url);
    const app = appOn(proxy.url);
    await app.send('add', [0, 0]);
    await app.send('add', [0, 0]); // the second send opens the line
    const onOld = await createClientFor(primary.url);
    const onNew = await createClientFor(next.url);
    const hasLine = (list: unknown): boolean => String(list).includes(`name=${SEND_LINE_NAME}`);
    await waitFor('the send line to open', () => onOld.client('LIST'), hasLine);
    // The failover: new connections reach `next`, and the old primary becomes its replica.
    proxy.point(next.url);
    await onOld.replicaof('127.0.0.1', new URL(next.url).port);
    const jobs = app.keys.queue('default', 'jobs');
    const r = await app.send('add', [1, 2]);
    expect(await onNew.hexists(jobs, r.id)).toBe(1);
    // It reopens on a send a second or more after it was lost; sends meanwhile take the app connection.
    const later = [];
    for (let i = 0; later.length < 20_000 && !hasLine(await onNew.client('LIST')); i++) later.push(await app.send('add', [i, i]));
    later.push(await app.send('add', [3, 4]));
    expect(hasLine(await onNew.client('LIST'))).toBe(true);
    expect(await onNew.hlen(jobs)).toBe(1 + later.length);
    expect(await onNew.client('LIST')).toMatch(new RegExp(`name=${SEND_LINE_NAME} [^\\n]*cmd=eval`));
  });
});

/** A plain client on `url`, closed when the test ends. */
async function createClientFor(url: string): Promise<Awaited<ReturnType<App['client']>>> {
  const admin = createApp({ broker: url });
  onTestFinished(() => admin.close());
  return admin.client();
}
