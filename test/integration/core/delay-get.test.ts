import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { TaskFailedError } from '../../../src/errors.js';

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
});
