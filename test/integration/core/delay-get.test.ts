import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { TaskFailedError } from '../../../src/errors.js';
import { gate } from '../../helpers/gate.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('delay → worker → get', () => {
  it('returns the value of a task run by a worker', async () => {
    const app = testApp();
    const add = app.task('add', async (a: number, b: number) => a + b);
    await startWorker(app);
    const r = await add.delay(2, 3);
    expect(await r.get({ timeout: 5000 })).toBe(5);
    expect(await r.state()).toBe('SUCCESS');
    expect(await r.ready()).toBe(true);
  });

  it('rejects get() with the remote error and its stack', async () => {
    const app = testApp();
    const boom = app.task('boom', () => {
      throw new TypeError('bad input 42');
    });
    await startWorker(app);
    const r = await boom.delay();
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).remoteName).toBe('TypeError');
    expect((err as TaskFailedError).message).toContain('bad input 42');
    expect((err as TaskFailedError).remoteStack).toMatch(/delay-get\.test\.ts/);
    expect(await r.state()).toBe('FAILURE');
  });

  it("Celery's AsyncResult without waiting: result, successful, failed, dateDone, traceback, forget", async () => {
    const app = testApp();
    const { passed, open } = gate();
    const add = app.task('add', (a: number, b: number) => a + b);
    const boom = app.task('boom', () => {
      throw new RangeError('out of range');
    });
    const slow = app.task('slow', async (ctx) => {
      await ctx.progress({ step: 1 });
      await passed;
      return 'late';
    }, { bind: true });
    const pending = app.result('never-sent');
    expect([await pending.result(), await pending.successful(), await pending.failed(), await pending.dateDone(), await pending.traceback()]).toEqual([undefined, false, false, undefined, undefined]);
    await startWorker(app);
    const ok = await add.delay(1, 2);
    const bad = await boom.delay();
    const running = await slow.delay();
    const before = Date.now();
    await ok.get({ timeout: 5000 });
    await bad.get({ timeout: 5000, propagate: false });
    expect([await ok.result(), await ok.successful(), await ok.failed(), await ok.traceback()]).toEqual([3, true, false, undefined]);
    expect((await ok.dateDone())!.getTime()).toBeGreaterThanOrEqual(before - 5000);
    const err = await bad.result();
    expect(err).toBeInstanceOf(TaskFailedError);
    expect([(err as TaskFailedError).remoteName, await bad.successful(), await bad.failed()]).toEqual(['RangeError', false, true]);
    expect(await bad.traceback()).toMatch(/^RangeError: out of range\n\s+at /);
    await waitFor('its progress', () => running.result(), (p) => JSON.stringify(p) === '{"step":1}');
    open();
    expect(await running.get({ timeout: 5000 })).toBe('late');
    await ok.forget();
    expect([await ok.state(), await ok.result()]).toEqual(['PENDING', undefined]);
  });
});
