/**
 * Redis restarted mid-run (SIGTERM, AOF on): producers and a worker process reconnect by themselves
 * and every job sent completes: nothing acknowledged is lost.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { privateRedis } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('Redis restart mid-run', () => {
  it('producers and workers reconnect; every job completes', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'restart', stallIntervalMs: 1000 });
    onTestFinished(() => app.close());
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'restart', TEST_STALL_MS: '1000' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '4'], { env });
    const client = await app.client();

    const first = await Promise.all(Array.from({ length: 50 }, () => app.send('count', [10])));
    // Due after the restart: bee-queue's delayed activation must survive the emptied script cache.
    first.push(await app.send('count', [0], {}, { countdown: 1.5 }));
    await waitFor('some jobs to run', () => client.hlen('restart:runs'), (n) => n >= 10);
    await redis.stop(); // fsyncs the AOF
    // Sends during the outage wait for the reconnect instead of failing.
    const during = Promise.all(Array.from({ length: 20 }, () => app.send('count', [10])));
    await redis.start();
    const second = await during;

    const all = [...first, ...second];
    const states = await Promise.all(all.map((r) => r.get({ timeout: 20_000 }).then(() => r.state(), (e: Error) => e.message)));
    expect(states.filter((s) => s !== 'SUCCESS')).toEqual([]);
    const runs = Object.values(await client.hgetall('restart:runs')).map(Number);
    expect(runs.length).toBe(all.length);
    console.info(`redis restart: ${all.length} jobs, 0 lost, ${runs.filter((n) => n > 1).length} run twice`);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
    // The node said when it lost Redis and when it had it back.
    expect(worker.output()).toContain('connection to Redis lost; reconnecting');
    expect(worker.output()).toMatch(/connection to Redis back after \d+ ms/);
  });

  it('a worker told to stop while Redis is down still stops, and its jobs come back once Redis does', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'down', stallIntervalMs: 1000 });
    onTestFinished(() => app.close());
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'down', TEST_STALL_MS: '1000' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '--shutdown-timeout', '1', '-n', 'w1@x'], { env });
    const running = await app.send('nap', [3000]);
    await waitFor('it to start', () => running.state(), (s) => s === 'STARTED');
    await redis.stop();
    worker.signal('SIGTERM');
    // Each shutdown step that needs Redis gives up after a bounded wait instead of waiting forever.
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/shutdown step \\"[\w ]+\\" did not end within \d+ s/); // JSON-escaped quotes
    await redis.start();
    // The job it held is still in `active`: another node's stall check re-delivers it.
    const again = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '-n', 'w2@x'], { env });
    expect(await running.get({ timeout: 20_000 })).toBe('napped');
    expect((await running.info())?.node).toBe('w2@x');
    again.signal('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('a frozen Redis (SIGSTOP: connections open, no answer) is logged, and so is its return; the running job completes', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'frozen' });
    onTestFinished(() => app.close());
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'frozen' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '1', '-n', 'w@x'], { env });
    const running = await app.send('nap', [200]);
    await waitFor('it to start', () => running.state(), (s) => s === 'STARTED');
    process.kill(redis.pid!, 'SIGSTOP');
    try {
      await waitFor('the node to say Redis does not answer', () => worker.output(), (out) => out.includes('Redis has not answered for'), { timeoutMs: 15_000 });
    } finally {
      process.kill(redis.pid!, 'SIGCONT');
    }
    await waitFor('the node to say Redis answers again', () => worker.output(), (out) => /Redis answers again after \d+ ms/.test(out));
    expect(await running.get({ timeout: 10_000 })).toBe('napped');
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  it('an idle worker whose Redis restarted still stops at once on TERM (its blocking fetch is unblocked, not waited out)', async () => {
    const redis = await privateRedis();
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: 'idle' };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '1', '-n', 'idle@x', '-Q', 'idleq'], { env });
    await redis.stop();
    await redis.start();
    await waitFor('the node to have Redis back', () => worker.output(), (out) => /connection to Redis back after \d+ ms/.test(out), { timeoutMs: 20_000 });
    // Its blocking fetch was sent again on the new connection: that is the one to unblock.
    const app = createApp({ broker: redis.url, keyPrefix: 'idle' });
    onTestFinished(() => app.close());
    await waitFor('the fetch to block again', async () => ((await (await app.client()).client('LIST')) as string), (list) => /cmd=brpoplpush/.test(list));
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).not.toContain('did not end within');
  });
});
