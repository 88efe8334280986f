/** Bad input gets a precise error and loses nothing; the worker node survives it. */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { listDead } from '../../../src/core/queue-admin.js';
import { TaskFailedError, TaskqError } from '../../../src/errors.js';
import { createApp } from '../../../src/core/app.js';
import { freePort } from '../../helpers/redis-server.js';

async function failure(p: Promise<unknown>): Promise<TaskFailedError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TaskFailedError);
  return err as TaskFailedError;
}

describe('bad input', () => {
  it('an unknown task name fails that job with a clear error; the worker keeps running', async () => {
    const app = testApp();
    const ok = app.task('ok', () => 'fine');
    await startWorker(app);
    const r = await app.send('no.such.task', [1]);
    const err = await failure(r.get({ timeout: 5000 }));
    expect(err.remoteName).toBe('TaskqError');
    expect(err.message).toContain('task "no.such.task" is not registered in this worker');
    expect(err.message).toContain('registered: ok');
    expect((await r.info())?.reason).toBe('unknown task');
    expect(await (await ok.delay()).get({ timeout: 5000 })).toBe('fine');
    expect((await listDead(app, ['default'])).map((d) => d.id)).toEqual([r.id]);
  });

  it('an undecodable payload fails (kept in the dead-letter list as it was), not the worker', async () => {
    const app = testApp();
    const ok = app.task('ok', () => 'fine');
    await startWorker(app);
    const client = await app.client();
    const k = app.keys;
    for (const [id, raw] of [['garbage', '{not json'], ['wrong-shape', '{"stalls":0,"data":{"task":"ok","args":"nope"},"options":{"v":1,"attempt":1}}']]) {
      await client.hset(k.queue('default', 'jobs'), id as string, raw as string);
      await client.lpush(k.queue('default', 'waiting'), id as string);
    }
    const garbage = await failure(app.result('garbage').get({ timeout: 5000 }));
    expect(garbage.message).toMatch(/job garbage in queue default has an undecodable payload: not JSON/);
    const shape = await failure(app.result('wrong-shape').get({ timeout: 5000 }));
    expect(shape.message).toContain('"data.args" is not an array');
    expect(await client.hget(k.queue('default', 'jobs'), 'garbage')).toBe('{not json');
    expect((await listDead(app, ['default'])).map((d) => d.id).sort()).toEqual(['garbage', 'wrong-shape']);
    expect(await (await ok.delay()).get({ timeout: 5000 })).toBe('fine');
  });

  it('arguments that cannot be serialised fail at the call site, naming the value; nothing is sent', async () => {
    const app = testApp();
    const t = app.task('t', (_x: unknown) => 1);
    const err = (await t.delay({ when: new Map() }).catch((e: unknown) => e)) as TaskqError;
    expect(err.code).toBe('TASKQ_ARGS_UNSERIALIZABLE');
    expect(err.message).toContain('args[0].when is a Map');
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'waiting'))).toBe(0);
  });

  it('a task returning an unserialisable value or throwing a non-Error fails with the reason', async () => {
    const app = testApp();
    const big = app.task('big', () => 10n);
    const odd = app.task('odd', () => {
      throw { code: 42 }; // eslint-disable-line no-throw-literal
    });
    await startWorker(app);
    const [a, b] = await Promise.all([big.delay(), odd.delay()]);
    expect((await failure(a.get({ timeout: 5000 }))).message).toContain('result is a BigInt');
    expect((await a.info())?.reason).toBe('unserialisable result');
    expect((await failure(b.get({ timeout: 5000 }))).message).toContain('non-Error thrown: {"code":42}');
  });

  it('invalid call options are refused at the call site', async () => {
    const app = testApp();
    const t = app.task('t', () => 1);
    await expect(t.applyAsync([], {}, { countdown: -1 })).rejects.toMatchObject({ code: 'TASKQ_OPTION_INVALID' });
    await expect(t.applyAsync([], {}, { eta: 'tomorrow-ish' })).rejects.toThrow(/eta must be a Date/);
    await expect(t.applyAsync([], {}, { retries: 1.5 })).rejects.toThrow(/retries must be a non-negative integer, got 1.5/);
    await expect(t.applyAsync([], {}, { queue: 'no spaces' })).rejects.toMatchObject({ code: 'TASKQ_QUEUE_NAME_INVALID' });
    expect(() => app.task('t', () => 2)).toThrow(/registered twice/);
    expect(() => app.task('bad name', () => 2)).toThrow(/invalid task name/);
  });

  it('Redis down when a producer starts: BrokerUnavailableError naming the URL', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    const app = createApp({ broker: url, keyPrefix: 'down' });
    try {
      const err = (await app.send('x', []).catch((e: unknown) => e)) as TaskqError;
      expect(err.code).toBe('TASKQ_BROKER_UNAVAILABLE');
      expect(err.exitCode).toBe(69);
      expect(err.message).toContain(url);
    } finally {
      await app.close();
    }
  });
});
