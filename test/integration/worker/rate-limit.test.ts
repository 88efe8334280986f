/** Rate limits are cluster-wide: three worker processes together keep to the task's rate. */
import { describe, expect, inject, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('rate limits', () => {
  it('20/s across three worker processes is 20±2/s over 10 s', async () => {
    const app = testApp();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_RATE: '20/s' };
    const client = await app.client();
    await Promise.all(Array.from({ length: 280 }, () => app.send('limited', [])));
    const workers = await Promise.all(['a', 'b', 'c'].map((n) => spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-c', '4', '-n', `${n}@%h`], { env })));
    const starts = await waitFor(
      'starts spanning 10 s',
      async () => (await client.lrange(`${app.keys.prefix}:starts`, 0, -1)).map(Number),
      (t) => t.length > 1 && (t.at(-1) as number) - (t[0] as number) >= 10_000,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const t0 = starts[0] as number;
    const inWindow = starts.filter((t) => t < t0 + 10_000).length;
    console.info(`rate limit 20/s, 3 nodes: ${inWindow} starts in 10 s (${(inWindow / 10).toFixed(1)}/s)`);
    expect(inWindow).toBeGreaterThanOrEqual(180);
    expect(inWindow).toBeLessThanOrEqual(220);
    for (const w of workers) w.signal('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);
  }, 40_000);

  it('a rate changed at run time takes effect without restarts', async () => {
    const app = testApp();
    const starts: number[] = [];
    const t = app.task('paced', () => starts.push(Date.now()), { rateLimit: '4/s' });
    await t.applyBulk(Array.from({ length: 40 }, () => []));
    await startWorker(app, { concurrency: 4 });
    await waitFor('a few slow starts', () => starts.length, (n) => n >= 3);
    const slowGap = (starts[2] as number) - (starts[1] as number);
    expect(slowGap).toBeGreaterThanOrEqual(240); // 4/s: 250 ms apart
    await app.setRateLimit('paced', '100/s');
    const before = starts.length;
    await waitFor('fast starts', () => starts.length, (n) => n >= before + 20, { timeoutMs: 5000 });
    const fast = starts.slice(-10);
    // ~10 ms apart now; half the old gap is the bound, so a loaded machine (a full parallel test run)
    // cannot fail it while the old 4/s still would.
    expect(((fast.at(-1) as number) - (fast[0] as number)) / 9).toBeLessThan(125);
  });
});
