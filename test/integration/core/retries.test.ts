/** Retries: counts, backoff timing, autoretryFor, UnrecoverableError, ctx.retry, RETRY state. */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { TaskFailedError, UnrecoverableError } from '../../../src/errors.js';
import { EventReader } from '../../../src/events/event-reader.js';

class Flaky extends Error {
  override name = 'Flaky';
}

describe('retries', () => {
  it('retries with exponential backoff, the delays within bounds, then succeeds', async () => {
    const app = testApp();
    const attempts: number[] = [];
    const flaky = app.task(
      'flaky',
      (ctx) => {
        attempts.push(Date.now());
        if (ctx.attempt < 4) throw new Flaky(`attempt ${ctx.attempt}`);
        return ctx.attempt;
      },
      { bind: true, retries: 5, backoff: { type: 'exponential', delayMs: 100, maxMs: 250 } },
    );
    await startWorker(app, { taskEvents: true });
    const r = await flaky.delay();
    expect(await r.get({ timeout: 10_000 })).toBe(4);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    // Retry n waits min(250, 100·2^(n-1)): 100, 200, 250 ms; the delayed-job timer adds a little.
    expect(gaps.length).toBe(3);
    [100, 200, 250].forEach((want, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(want - 5);
      expect(gaps[i]).toBeLessThan(want + 400);
    });
  });

  it('fails after the last retry with the last error, and records RETRY in between', async () => {
    const app = testApp();
    const always = app.task('always', () => { throw new Flaky('nope'); }, { retries: 2, backoff: 50 });
    await startWorker(app, { taskEvents: true });
    const client = await app.client();
    const reader = new EventReader(client, app.keys.events, '0');
    const r = await always.delay();
    const err = (await r.get({ timeout: 10_000 }).catch((e: unknown) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.remoteName).toBe('Flaky');
    const info = await r.info();
    expect(info).toMatchObject({ state: 'FAILURE', attempt: 3, reason: 'max retries (2) exceeded' });
    const types = (await reader.read()).filter((e) => e.data.id === r.id).map((e) => e.type);
    expect(types.filter((t) => t === 'task-retried')).toHaveLength(2);
    expect(types.at(-1)).toBe('task-failed');
  });

  it('only retries errors listed in autoretryFor; UnrecoverableError never', async () => {
    const app = testApp();
    let typeErrors = 0;
    let unrecoverable = 0;
    const picky = app.task('picky', () => { typeErrors++; throw new TypeError('not listed'); }, { retries: 3, autoretryFor: [Flaky] });
    const fatal = app.task('fatal', () => { unrecoverable++; throw new UnrecoverableError('stop'); }, { retries: 3 });
    await startWorker(app, { taskEvents: true });
    const [a, b] = await Promise.all([picky.delay(), fatal.delay()]);
    await expect(a.get({ timeout: 5000 })).rejects.toThrow(/not listed/);
    await expect(b.get({ timeout: 5000 })).rejects.toThrow(/stop/);
    expect((await a.info())?.reason).toBe('TypeError is not in autoretryFor');
    expect((await b.info())?.reason).toBe('unrecoverable error');
    expect([typeErrors, unrecoverable]).toEqual([1, 1]);
  });

  it('ctx.retry({countdown}) runs the task again after the countdown', async () => {
    const app = testApp();
    const times: number[] = [];
    const again = app.task('again', (ctx) => {
      times.push(Date.now());
      if (ctx.attempt === 1) ctx.retry({ countdown: 0.3 });
      return 'second';
    }, { bind: true });
    await startWorker(app, { taskEvents: true });
    const r = await again.delay();
    expect(await r.get({ timeout: 5000 })).toBe('second');
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(295);
  });

  it("ctx.retry({eta, maxRetries, exc}) as Celery's self.retry: past its maximum the task fails with exc", async () => {
    const app = testApp();
    const times: number[] = [];
    const flaky = app.task('flaky', (ctx) => {
      times.push(Date.now());
      throw ctx.retry({ eta: new Date(Date.now() + 200), maxRetries: 2, exc: new Flaky(`attempt ${ctx.attempt}`) });
    }, { bind: true, retries: 10 });
    await startWorker(app, { taskEvents: true });
    const r = await flaky.delay();
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'TASKQ_TASK_FAILED', remoteName: 'Flaky', message: expect.stringContaining('attempt 3') });
    expect((await r.info())?.reason).toBe('max retries (2) exceeded');
    expect(times).toHaveLength(3);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(190);
  });

  it('without exc, a retry past the maximum fails with MaxRetriesExceededError', async () => {
    const app = testApp();
    const stubborn = app.task('stubborn', (ctx) => ctx.retry({ countdown: 0, maxRetries: 1 }), { bind: true });
    await startWorker(app, { taskEvents: true });
    const err = await (await stubborn.delay()).get({ timeout: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ remoteName: 'MaxRetriesExceededError', message: expect.stringContaining('task stubborn asked for a retry: max retries (1) exceeded') });
  });

  it("Celery's option names: autoretryFor alone retries 3 times; maxRetries, retryBackoff, retryBackoffMax, retryJitter", async () => {
    const app = testApp();
    const runs = { auto: 0, named: 0 };
    const auto = app.task('auto', () => { runs.auto++; throw new Flaky('again'); }, { autoretryFor: [Flaky], retryBackoff: 0.01, retryJitter: false });
    const named = app.task('named', () => { runs.named++; throw new Flaky('again'); }, { autoretryFor: [Flaky], maxRetries: 1, retryBackoff: true, retryBackoffMax: 0.05 });
    expect(named.definition.backoff).toEqual({ type: 'exponential', delayMs: 1000, maxMs: 50, jitter: true });
    await startWorker(app, { taskEvents: true });
    const [a, n] = await Promise.all([auto.delay(), named.delay()]);
    await expect(a.get({ timeout: 5000 })).rejects.toThrow(/Flaky/);
    await expect(n.get({ timeout: 5000 })).rejects.toThrow(/Flaky/);
    expect(runs).toEqual({ auto: 4, named: 2 });
    expect(() => app.task('both', () => 1, { backoff: 10, retryBackoff: true })).toThrow(/give backoff or retryBackoff, not both/);
    expect(() => app.task('odd', () => 1, { retries: 1, maxRetries: 2 })).toThrow(/retries \(1\) and maxRetries \(2\) disagree/);
    expect(() => app.task('lone', () => 1, { retryJitter: false })).toThrow(/apply with retryBackoff/);
  });

  it('call options override the task: retries for one call', async () => {
    const app = testApp();
    let runs = 0;
    const once = app.task('once', () => { runs++; throw new Flaky('x'); });
    await startWorker(app, { taskEvents: true });
    const r = await once.applyAsync([], {}, { retries: 2, backoff: 10 });
    await expect(r.get({ timeout: 5000 })).rejects.toThrow(/Flaky/);
    expect(runs).toBe(3);
  });
});
