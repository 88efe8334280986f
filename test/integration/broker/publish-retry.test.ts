/**
 * Publishing through an outage: a send waits for the connection as its retry policy allows, then
 * fails with BrokerUnavailableError, and nothing of it is stored later (no offline queue).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { privateRedis } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('publishing with Redis down', () => {
  it('gives up after its retry policy with BrokerUnavailableError (exit 69); the send is never stored', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'pub', publishRetryPolicy: { maxRetries: 2, intervalStart: 0.1, intervalStep: 0.1, intervalMax: 0.2 } });
    onTestFinished(() => app.close());
    const before = await app.send('t', [1]);
    await redis.stop();
    const err = (await app.send('t', [2], {}, { jobId: 'during-outage' }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ name: 'BrokerUnavailableError', code: 'TASKQ_BROKER_UNAVAILABLE', exitCode: 69 });
    expect(err.message).toMatch(/sending task t: Redis at redis:\/\/127\.0\.0\.1:\d+.* is unreachable .*gave up after 2 retries over .* nothing was sent/);
    // A call's own policy beats the app's; a canvas waits the same way.
    const { chain } = await import('../../../src/core/canvas/canvas.js');
    await expect(chain(app.signature('t')).applyAsync([], {}, { retryPolicy: { maxRetries: 1, intervalStart: 0.05 } })).rejects.toMatchObject({ code: 'TASKQ_BROKER_UNAVAILABLE' });
    // maxRetries 0: no wait at all, however long the interval would be.
    const started = performance.now();
    await expect(app.send('t', [], {}, { retryPolicy: { maxRetries: 0, intervalStart: 5 } })).rejects.toMatchObject({ code: 'TASKQ_BROKER_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(app.send('t', [], {}, { retryPolicy: { maxRetries: -1 } })).rejects.toMatchObject({ code: 'TASKQ_OPTION_INVALID', message: expect.stringContaining('retryPolicy.maxRetries') });

    await redis.start();
    const client = await app.client();
    await waitFor('the connection to come back', () => client.status, (s) => s === 'ready');
    const after = await app.send('t', [3]);
    const ids = await client.hkeys('pub:default:jobs');
    expect(ids.sort()).toEqual([before.id, after.id].sort());
  });

  it('a send during a short outage waits for the reconnect (the default policy) and is stored once', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'pub2' });
    onTestFinished(() => app.close());
    await app.send('t', []);
    await redis.stop();
    const during = app.send('t', [], {}, { jobId: 'waited' });
    await redis.start();
    expect((await during).id).toBe('waited');
    const client = await app.client();
    expect(await client.hexists('pub2:default:jobs', 'waited')).toBe(1);
  });

  it("waits its intervals: the connection's failed reconnects (each an 'error') do not use up its retries", async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'pub3', publishRetryPolicy: { maxRetries: 3, intervalStart: 2, intervalStep: 0, intervalMax: 2 } });
    onTestFinished(() => app.close());
    const client = await app.client();
    await redis.stop();
    let errors = 0;
    client.on('error', () => errors++);
    const during = app.send('t', [], {}, { jobId: 'patient' });
    await waitFor('several failed reconnects', () => errors, (n) => n >= 4);
    await redis.start();
    expect((await during).id).toBe('patient');
  });

  it('a bad app policy is a config error naming it', () => {
    expect(() => createApp({ publishRetryPolicy: { intervalMax: Number.NaN } })).toThrow(/the app option publishRetryPolicy: retryPolicy.intervalMax must be a non-negative number of seconds/);
  });
});
