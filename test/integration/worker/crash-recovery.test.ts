/**
 * At-least-once delivery with real processes: kill -9 a worker with jobs in flight, and every job
 * still ends SUCCESS (re-delivered by the stall check of the surviving worker); duplicates counted.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('worker killed with jobs in flight', () => {
  it('re-delivers its jobs to another worker: 0 lost', async () => {
    const app = testApp({ stallIntervalMs: 500 });
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: '500' };
    const args = ['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '4'];
    const victim = await spawnTaskq([...args, '-n', 'victim@%h'], { env });
    const client = await app.client();

    const total = 40;
    const results = await Promise.all(Array.from({ length: total }, () => app.send('count', [150])));
    // Let the victim take jobs before the survivor exists, so it surely holds some when it dies.
    await waitFor('the victim to run 4 jobs', () => client.hlen(`${app.keys.prefix}:runs`), (n) => n >= 4);
    const survivor = await spawnTaskq([...args, '-n', 'survivor@%h'], { env });
    victim.signal('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    const started = Date.now();
    const states = await Promise.all(results.map((r) => r.get({ timeout: 20_000 }).then(() => r.state())));
    const recoveryMs = Date.now() - started;
    expect(states.filter((s) => s !== 'SUCCESS')).toEqual([]);

    const runs = Object.values(await client.hgetall(`${app.keys.prefix}:runs`)).map(Number);
    const duplicates = runs.filter((n) => n > 1).length;
    console.info(`kill -9: ${total} jobs, 0 lost, ${duplicates} run twice (in flight at the kill), all done ${recoveryMs} ms after the kill`);
    expect(runs.length).toBe(total);
    // Only what the victim held (4 running + at most 1 fetched per queue) can have run twice.
    expect(duplicates).toBeLessThanOrEqual(5);
    expect(await client.llen(`${app.keys.prefix}:default:active`)).toBe(0);
    survivor.signal('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });
});

describe('SIGTERM (warm shutdown)', () => {
  it('lets running jobs finish and record their result, leaves waiting jobs queued and nothing active', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '2'], { env });
    const client = await app.client();
    const jobs = await Promise.all([1, 2, 3, 4].map(() => app.send('slow', [600])));
    const running = await waitFor('two jobs to start', () => client.lrange(`${app.keys.prefix}:started`, 0, -1), (ids) => ids.length === 2);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);

    const finished = await client.lrange(`${app.keys.prefix}:finished`, 0, -1);
    expect(finished.sort()).toEqual([...running].sort());
    for (const r of jobs) {
      const state = await r.state();
      expect(state).toBe(running.includes(r.id) ? 'SUCCESS' : 'PENDING');
    }
    expect(await client.llen(`${app.keys.prefix}:default:active`)).toBe(0);
    expect(await client.llen(`${app.keys.prefix}:default:waiting`)).toBe(2);
  });
});
