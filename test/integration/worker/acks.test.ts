/**
 * Acknowledgement choices: acksLate (the default) re-delivers a job whose node died; early
 * acknowledgement (acksLate: false) runs a job at most once — its node killed -9 or its warm shutdown
 * cut short, it is failed, never run again.
 */
import { describe, expect, inject, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';
import { listDead } from '../../../src/core/queue-admin.js';

describe('early acknowledgement (acksLate: false)', () => {
  for (const who of ['the call', "only the worker's task"] as const) it(`a node killed -9 mid-run: its early-ack job (${who} says so) fails (WorkerLostError) and never runs again; an acksLate job beside it is re-delivered`, async () => {
    const app = testApp({ stallIntervalMs: 500 });
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: '500' };
    const args = ['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '2'];
    const victim = await spawnTaskq([...args, '-n', 'victim@%h'], { env });
    const client = await app.client();
    // The producer does not import the task: the call may say it; else the node that takes it does.
    const once = await app.send('atMostOnce', [1500], {}, who === 'the call' ? { acksLate: false } : {});
    const twice = await app.send('count', [1500]);
    await waitFor('both to start', () => client.hlen(`${app.keys.prefix}:runs`), (n) => n === 2);
    victim.signal('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    const survivor = await spawnTaskq([...args, '-n', 'survivor@%h'], { env });

    const err = await once.get({ timeout: 20_000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'TASKQ_TASK_FAILED', remoteName: 'WorkerLostError', message: expect.stringContaining('acknowledged early') });
    expect(await twice.get({ timeout: 20_000 })).toBe(twice.id);
    const runs = await client.hgetall(`${app.keys.prefix}:runs`);
    expect(runs).toEqual({ [once.id]: '1', [twice.id]: '2' });
    expect((await listDead(app, ['default'])).map((d) => d.id)).toEqual([once.id]);
    survivor.signal('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });

  it('a warm shutdown past its timeout fails an early-ack job instead of giving it back; an acksLate one goes back', async () => {
    const app = testApp();
    const hold = async (ctx: { signal: AbortSignal }): Promise<string> => {
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
      return 'never';
    };
    const early = app.task('early', hold, { bind: true, acksLate: false });
    const late = app.task('late', hold, { bind: true });
    const node = await startWorker(app, { concurrency: 2, shutdownTimeoutMs: 200, prefetch: 0 });
    const [e, l] = [await early.delay(), await late.delay()];
    await waitFor('both to start', async () => [await e.state(), await l.state()], (s) => s.every((x) => x === 'STARTED'));
    await node.stop();
    expect(await e.get({ timeout: 1000 }).catch((err: Error) => err)).toMatchObject({ remoteName: 'WorkerShutdown', message: expect.stringContaining('acknowledged early') });
    expect(await l.state()).toBe('STARTED'); // given back: the next node runs it
    const client = await app.client();
    expect(await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).toEqual([l.id]);
  });
});
