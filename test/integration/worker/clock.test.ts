/**
 * One clock: a worker whose host clock is an hour ahead still honours expiry and rate limits by
 * Redis's clock (scripts read TIME; the node keeps its reading in step with it), and nodes whose
 * clocks disagree by two hours share the stall checks without harm.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { fixture, root, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('a worker host whose clock is an hour ahead', () => {
  it('runs a job that expires in a minute (by Redis’s clock it has not expired) and keeps a 20/s rate', async () => {
    const app = testApp();
    const env = {
      TASKQ_BROKER_URL: inject('redisUrl'),
      TASKQ_KEY_PREFIX: app.keys.prefix,
      TEST_CLOCK_AHEAD_MS: String(3_600_000),
      NODE_OPTIONS: `--import=${root}test/fixtures/preload/clock-ahead.mjs`,
    };
    const worker = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '4', '-n', 'ahead@%h'], { env });
    const fresh = await app.send('add', [1, 2], {}, { expires: 60 });
    expect(await fresh.get({ timeout: 10_000 })).toBe(3);
    expect(await fresh.info()).toMatchObject({ state: 'SUCCESS', node: expect.stringMatching(/^ahead@/) });

    // Rate slots are Redis times too: 10 jobs at 20/s take about half a second, not no time at all.
    const client = await app.client();
    await Promise.all(Array.from({ length: 10 }, () => app.send('limited', [])));
    const starts = await waitFor('10 starts', () => client.lrange(`${app.keys.prefix}:starts`, 0, -1), (s) => s.length === 10);
    const times = starts.map(Number).sort((a, b) => a - b);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(9 * 50 - 20);
    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});

describe('stall checks shared by nodes whose clocks are an hour ahead and an hour behind', () => {
  it('re-deliver the job of a node that died, never a live node’s, and see every live node by Redis’s clock', async () => {
    const app = testApp({ stallIntervalMs: 300 });
    const client = await app.client();
    const base = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: '300', TASKQ_HEARTBEAT_MS: '200' };
    const skewed = (ms: number) => ({ ...base, TEST_CLOCK_AHEAD_MS: String(ms), NODE_OPTIONS: `--import=${root}test/fixtures/preload/clock-ahead.mjs` });
    const victim = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '1', '-n', 'victim@x'], { env: base });
    const orphan = await app.send('dieOnce', []); // its node exits under it
    expect(await victim.exited).toBe(3);
    const nodes = [
      await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '-n', 'ahead@x'], { env: skewed(3_600_000) }),
      await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '2', '-n', 'behind@x'], { env: skewed(-3_600_000) }),
    ];
    expect(await orphan.get({ timeout: 10_000 })).toBe('second run');
    // Live nodes' jobs that run for ten intervals: the checks alternate between the two clocks meanwhile.
    const live = await Promise.all(Array.from({ length: 4 }, () => app.send('count', [3000])));
    expect(await Promise.all(live.map((r) => r.get({ timeout: 20_000 })))).toEqual(live.map((r) => r.id));
    expect(await client.hmget(`${app.keys.prefix}:runs`, ...live.map((r) => r.id))).toEqual(['1', '1', '1', '1']);
    expect(await client.llen(app.keys.queue('default', 'waiting'))).toBe(0);
    // The registry (what `taskq status` shows and the checks prune by) says, by Redis's clock, that
    // each node was seen within the last seconds: neither an hour ago nor an hour from now.
    const [seconds] = await client.time();
    const seen = (await client.zrange(app.keys.nodes, 0, '-1', 'WITHSCORES')).map(String);
    expect(seen.filter((_, i) => i % 2 === 0).sort()).toEqual(['ahead@x', 'behind@x']);
    for (const score of seen.filter((_, i) => i % 2 === 1)) expect(Math.abs(Number(seconds) * 1000 - Number(score))).toBeLessThan(5000);
    for (const node of nodes) node.signal('SIGTERM');
    expect(await Promise.all(nodes.map((n) => n.exited))).toEqual([0, 0]);
  });
});
