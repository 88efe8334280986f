/**
 * Time limits in the async pool: the soft limit aborts ctx.signal so the task can clean up; the hard
 * limit fails the job with TimeLimitExceeded on time. Code that ignores its signal cannot be stopped
 * in this pool: it is reported, and its slot stays taken until it really ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { TaskFailedError } from '../../../src/errors.js';
import { runTaskq, fixture } from '../../helpers/processes.js';

describe('time limits (async pool)', () => {
  it('soft limit: ctx.signal aborts with SoftTimeLimitExceeded and the task cleans up', async () => {
    const app = testApp();
    const cleaned: number[] = [];
    const slow = app.task('slow', async (ctx) => {
      const started = Date.now();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      cleaned.push(Date.now() - started);
      throw ctx.signal.reason as Error;
    }, { bind: true, softTimeLimitMs: 200 });
    await startWorker(app);
    const err = (await (await slow.delay()).get({ timeout: 5000 }).catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('SoftTimeLimitExceeded');
    expect(err.message).toContain('soft time limit (200 ms) exceeded');
    expect(cleaned).toHaveLength(1);
    expect(cleaned[0]).toBeGreaterThanOrEqual(195);
  });

  it('hard limit: the job fails on time; a task ignoring its signal keeps its slot until it ends', async () => {
    const app = testApp();
    const order: string[] = [];
    const stubborn = app.task('stubborn', async () => {
      order.push('stubborn:start');
      await sleep(700); // ignores ctx.signal
      order.push('stubborn:end');
      return 'late';
    });
    const next = app.task('next', () => order.push('next'));
    await startWorker(app, { concurrency: 1 });
    const sent = Date.now();
    const a = await stubborn.applyAsync([], {}, { timeLimitMs: 150 });
    const b = await next.delay();
    const err = (await a.get({ timeout: 5000 }).catch((e: unknown) => e)) as TaskFailedError;
    const failedAfter = Date.now() - sent;
    expect(err.remoteName).toBe('TimeLimitExceeded');
    expect(err.message).toContain('hard time limit (150 ms) exceeded');
    expect(await a.info()).toMatchObject({ state: 'FAILURE', reason: 'hard time limit exceeded' });
    expect(failedAfter).toBeLessThan(600);
    await b.get({ timeout: 5000 });
    expect(order).toEqual(['stubborn:start', 'stubborn:end', 'next']); // c=1: the slot stayed taken
    expect(await a.state()).toBe('FAILURE'); // the late return does not overwrite the outcome
  });

  it("a limit set by remote control (time_limit) overrides the task's own, as Celery's", async () => {
    const app = testApp();
    const t = app.task('patient', async (ctx) => {
      // Past the soft limit it stops early, with what it has; past the hard one it is failed.
      await sleep(1000, undefined, { signal: ctx.signal }).catch(() => undefined);
      return ctx.signal.aborted ? 'stopped at the soft limit' : 'slept';
    }, { bind: true, timeLimitMs: 10_000, softTimeLimitMs: 5000 });
    await startWorker(app, { concurrency: 1, name: 'limits@test' });
    const set = await app.control.control('time_limit', { task: 'patient', soft: 0.1, hard: 0.3 }, { destination: ['limits@test'] });
    expect(set.replies[0]).toMatchObject({ ok: true });
    expect(await (await t.delay()).get({ timeout: 5000 })).toBe('stopped at the soft limit');
    // One that ignores its signal meets the hard limit set remotely, not its own 10 s.
    const stubborn = app.task('stubborn', () => sleep(600).then(() => 'slept'), { timeLimitMs: 10_000 });
    await app.control.control('time_limit', { task: 'stubborn', soft: 0.1, hard: 0.2 }, { destination: ['limits@test'] });
    expect(await (await stubborn.delay()).get({ timeout: 5000, propagate: false })).toMatchObject({ remoteName: 'TimeLimitExceeded' });
  });

  it('node defaults apply to tasks that set none; the CLI refuses a soft limit above the hard one', async () => {
    const app = testApp();
    const t = app.task('t', (ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))), { bind: true });
    await startWorker(app, { softTimeLimitMs: 100 });
    await expect((await t.delay()).get({ timeout: 5000 })).rejects.toThrow(/soft time limit \(100 ms\)/);
    const bad = await runTaskq(['worker', '-A', fixture('basic.mjs'), '--time-limit', '1', '--soft-time-limit', '2'], {});
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--soft-time-limit (2 s) must be below --time-limit (1 s)');
  });
});
