/**
 * Shutdown loses nothing: jobs aborted by a warm shutdown's timeout, jobs a cold shutdown leaves, and
 * jobs held but not started all go back to the front of their queue, at their priority, and run again
 * elsewhere; none is FAILURE or dead.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';
import { gate } from '../../helpers/gate.js';
import { listDead } from '../../../src/core/queue-admin.js';
import type { App } from '../../../src/core/app.js';

async function queued(app: App, list: 'waiting' | 'waiting:high'): Promise<string[]> {
  const client = await app.client();
  // The front of a list is its tail (workers pop from the right).
  return (await client.lrange(`${app.keys.queue('default', 'waiting')}${list === 'waiting:high' ? ':high' : ''}`, 0, -1)).reverse();
}

describe('warm shutdown past its timeout', () => {
  it('a job that honours ctx.signal goes back to the front of its queue at its priority, and runs again elsewhere', async () => {
    const app = testApp();
    const nodes: string[] = [];
    const patient = app.task('patient', async (ctx) => {
      nodes.push(ctx.node);
      if (ctx.node === 'first@test') await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
      return 'done';
    }, { bind: true, priority: 'high' });
    const first = await startWorker(app, { name: 'first@test', concurrency: 1, shutdownTimeoutMs: 200, prefetch: 0 });
    const r = await patient.delay();
    await waitFor('it to start', () => r.state(), (s) => s === 'STARTED');
    const behind = await patient.delay();
    await first.stop();

    expect(await queued(app, 'waiting:high')).toEqual([r.id, behind.id]);
    expect(await r.state()).not.toBe('FAILURE');
    expect(await listDead(app, ['default'])).toEqual([]);
    expect(first.stats.failed).toBe(0);
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);

    await startWorker(app, { name: 'second@test', concurrency: 1 });
    expect(await r.get({ timeout: 5000 })).toBe('done');
    expect(await behind.get({ timeout: 5000 })).toBe('done');
    expect(nodes).toEqual(['first@test', 'second@test', 'second@test']);
  });

  it('a task that runs until stopped (untilStopped) is aborted at once and goes back; the others are still awaited', async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    const forever = app.task('forever', async (ctx) => {
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
    }, { bind: true, untilStopped: true });
    const finite = app.task('finite', async () => {
      await gateOpen;
      return 'finished';
    });
    // A shutdown timeout far beyond the test's own: waiting it out would fail the test.
    const node = await startWorker(app, { concurrency: 2, shutdownTimeoutMs: 600_000, prefetch: 0 });
    const capture = await forever.delay();
    const work = await finite.delay();
    await waitFor('both to start', async () => [await capture.state(), await work.state()], (s) => s.every((x) => x === 'STARTED'));
    const stopped = node.stop();
    await waitFor('the endless one to go back', () => queued(app, 'waiting'), (q) => q.includes(capture.id));
    expect(await work.state()).toBe('STARTED'); // still awaited
    release();
    await stopped;
    expect(await work.get({ timeout: 5000 })).toBe('finished');
    expect(await queued(app, 'waiting')).toEqual([capture.id]);
    expect(await capture.state()).not.toBe('FAILURE');
    expect(node.stats.failed).toBe(0);
  });

  it('jobs held but not started (prefetched) go back at once; the running one finishes', async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    const ran: number[] = [];
    const t = app.task('t', async (n: number) => {
      ran.push(n);
      await gateOpen;
      return n;
    });
    const node = await startWorker(app, { concurrency: 1, prefetch: 2 });
    const sent = await t.applyBulk([[1], [2], [3]]);
    await waitFor('one running, two held', () => node.busy, (n) => n === 3);
    const stopping = node.stop({ timeoutMs: 10_000 });
    await waitFor('the held jobs to be back in the queue', () => queued(app, 'waiting'), (ids) => ids.length === 2);
    expect(await queued(app, 'waiting')).toEqual([sent[1]!.id, sent[2]!.id]);
    release();
    await stopping;
    expect(await sent[0]!.get({ timeout: 1000 })).toBe(1);
    expect(ran).toEqual([1]);
    expect(await sent[1]!.state()).toBe('PENDING');
  });
});

describe('cold shutdown', () => {
  it('stop({ timeoutMs: 0 }) gives a running job back at once, without waiting for it to end', async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    let ended = false;
    const stubborn = app.task('stubborn', async () => {
      await gateOpen; // ignores its signal
      ended = true;
      return 'late';
    });
    const node = await startWorker(app, { concurrency: 1 });
    const r = await stubborn.delay();
    await waitFor('it to start', () => r.state(), (s) => s === 'STARTED');
    await node.stop({ timeoutMs: 0 });
    expect(ended).toBe(false);
    expect(await queued(app, 'waiting')).toEqual([r.id]);
    expect(await r.state()).toBe('STARTED');
    release();
    // Its late end is not this delivery's to record: the job waits for its next delivery.
    await waitFor('its code to end', () => ended, (e) => e);
    expect(await queued(app, 'waiting')).toEqual([r.id]);
    expect(await listDead(app, ['default'])).toEqual([]);
  });

  it('SIGQUIT: the worker process exits at once and its running job is back in the queue', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '1'], { env });
    const r = await app.send('slow', [60_000]);
    await waitFor('it to start', () => r.state(), (s) => s === 'STARTED');
    worker.signal('SIGQUIT');
    expect(await worker.exited).toBe(1);
    expect(await queued(app, 'waiting')).toEqual([r.id]);
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
    expect(await listDead(app, ['default'])).toEqual([]);
  });

  it('a second SIGINT turns the warm shutdown cold: the node exits at once and its running job is back', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    // A warm shutdown would wait an hour for the running job.
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '1', '-l', 'info', '--shutdown-timeout', '3600'], { env });
    const r = await app.send('slow', [60_000]);
    await waitFor('it to start', () => r.state(), (s) => s === 'STARTED');
    worker.signal('SIGINT');
    await waitFor('the warm shutdown to begin', () => worker.output(), (out) => out.includes('warm shutdown'));
    expect(await queued(app, 'waiting')).toEqual([]);
    worker.signal('SIGINT');
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('cold shutdown');
    expect(await queued(app, 'waiting')).toEqual([r.id]);
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
    expect(await listDead(app, ['default'])).toEqual([]);
  });
});

describe('giving a job back when its queue key is broken', () => {
  it('leaves it in active (the stall check re-delivers it) instead of losing it, and the node still stops', async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    const t = app.task('t', async () => {
      await gateOpen;
      return 'done';
    });
    const node = await startWorker(app, { concurrency: 1, prefetch: 1 });
    await t.delay();
    const held = await t.delay();
    await waitFor('one running, one held', () => node.busy, (n) => n === 2);
    const client = await app.client();
    const waiting = app.keys.queue('default', 'waiting');
    await client.set(waiting, 'not a list'); // where the held job would go back to
    const stopping = node.stop({ timeoutMs: 10_000 });
    release();
    await stopping;
    const active = await client.lrange(app.keys.queue('default', 'active'), 0, -1);
    expect(active.filter((e) => e.endsWith(`~${held.id}`))).toHaveLength(1);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), held.id)).toBe(1);
  });
});
