/**
 * The hot path's round trips: with a backlog, jobs are taken and recorded in batches, not one by
 * one (a regression here cost 8x throughput once, with every test still green).
 */
import { describe, expect, it, vi } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';
import { gate } from '../../helpers/gate.js';
import { scriptKeyCount } from '../../../src/broker/scripts.js';

type Scripted = Record<'taskqTake' | 'taskqFinish', (...args: unknown[]) => Promise<unknown>>;

describe('batched take and finish', () => {
  it('a backlog of 400 jobs at concurrency 50 takes a handful of round trips, not 400', async () => {
    const app = testApp();
    const noop = app.task('noop', () => null);
    await noop.applyBulk(Array.from({ length: 400 }, () => []));
    const client = (await app.client()) as unknown as Scripted;
    const takes = vi.spyOn(client, 'taskqTake');
    const finishes = vi.spyOn(client, 'taskqFinish');
    const node = await startWorker(app, { concurrency: 50 });
    await waitFor('400 jobs done', () => node.stats.processed, (n) => n === 400);
    // Each take asks for every free slot; each finish records every outcome of an event-loop turn.
    expect(takes.mock.calls.length).toBeLessThanOrEqual(20);
    expect(finishes.mock.calls.length).toBeLessThanOrEqual(20);
    const taken = takes.mock.calls.map((args) => Number(args[scriptKeyCount('taskqTake') + 1])); // ARGV[2]: how many to take
    expect(Math.max(...taken)).toBe(50);
  });

  it('more outcomes in one event-loop turn than one call records (100) are all recorded', async () => {
    const app = testApp();
    const held = gate();
    let started = 0;
    const together = app.task('together', async (i: number) => {
      started++;
      await held.passed;
      return i;
    });
    const results = await together.applyBulk(Array.from({ length: 150 }, (_, i) => [i]));
    const node = await startWorker(app, { concurrency: 150 });
    await waitFor('all 150 to run', () => started, (n) => n === 150);
    held.open(); // every job ends in the same turn
    expect(await Promise.all(results.map((r) => r.get({ timeout: 10_000 })))).toEqual(results.map((_, i) => i));
    expect(node.stats.succeeded).toBe(150);
  });

  it('at concurrency 1 a job still starts as soon as it is sent (blocking fetch, no polling)', async () => {
    const app = testApp();
    const echo = app.task('echo', (x: number) => x);
    await startWorker(app, { concurrency: 1 });
    for (let i = 0; i < 3; i++) expect(await (await echo.delay(i)).get({ timeout: 5000 })).toBe(i);
  });
});
