/**
 * ctx.updateState (Celery's update_state): a running task's custom state and meta are what
 * AsyncResult reads, in the async pool and in a processes pool child; the final state replaces it;
 * Celery's own states and malformed names are refused with the reason.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { startWorker, testApp, uniquePrefix } from '../../helpers/apps.js';
import { gate } from '../../helpers/gate.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('ctx.updateState', () => {
  it('a custom state and its meta while it runs; SUCCESS after; built-in and malformed states refused', async () => {
    const app = testApp();
    const { passed, open } = gate();
    const job = app.task('job', async (ctx) => {
      await ctx.updateState('PROGRESS', { done: 3, total: 10 });
      await passed;
      return 'finished';
    }, { bind: true });
    const bad = app.task('bad', async (ctx, state: string) => ctx.updateState(state, {}), { bind: true });
    await startWorker(app);
    const r = await job.delay();
    expect(await waitFor('the custom state', () => r.state(), (s) => s === 'PROGRESS')).toBe('PROGRESS');
    expect([await r.result(), await r.progress(), await r.ready()]).toEqual([{ done: 3, total: 10 }, { done: 3, total: 10 }, false]);
    open();
    expect(await r.get({ timeout: 5000 })).toBe('finished');
    expect(await r.state()).toBe('SUCCESS');
    for (const [state, why] of [['SUCCESS', "SUCCESS is one of Celery's own states"], ['progress', 'the state must be upper-case letters'], ['A'.repeat(41), 'the state must be upper-case']] as const) {
      const err = await (await bad.delay(state)).get({ timeout: 5000, propagate: false });
      expect((err as unknown as Error).message, state).toContain(why);
    }
  });

  it('works from a processes pool child too', async () => {
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix };
    await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-P', 'processes', '-c', '1'], { env });
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    try {
      const r = await app.send('staged', [1500]);
      expect(await waitFor('the custom state', () => r.state(), (s) => s === 'FETCHING')).toBe('FETCHING');
      expect(await r.result()).toEqual({ stage: 1 });
      expect(await r.get({ timeout: 10_000 })).toBe('staged');
    } finally {
      await app.close();
    }
  });
});
