/**
 * One clock: a worker whose host clock is an hour ahead still honours expiry and rate limits by
 * Redis's clock (scripts read TIME; the node keeps its reading in step with it).
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
