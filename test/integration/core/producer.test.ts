/** Sends started together share an enqueue call; each still gets its own answer. */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { privateRedis } from '../../helpers/redis-server.js';
import { startWorker } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';
import { SEND_LINE_NAME } from '../../../src/broker/script-sender.js';

/** An app alone on a Redis of its own (the tests below restart it, flush its scripts or fill its memory), with a task `t`. */
async function appAlone(keyPrefix: string) {
  const redis = await privateRedis();
  const app = createApp({ broker: redis.url, keyPrefix });
  onTestFinished(() => app.close());
  const t = app.task('t', (n: number) => n);
  return { redis, app, t, client: await app.client() };
}

describe('sending in bursts', () => {
  it('100 delay() calls at once take a couple of enqueue calls, not 100; every job runs once', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'burst' });
    onTestFinished(() => app.close());
    const seen: number[] = [];
    const t = app.task('t', (n: number) => seen.push(n));
    const high = app.task('urgent', (n: number) => seen.push(n), { priority: 'high' });
    const client = await app.client();
    await Promise.all([t.delay(-1), t.delay(-2)]); // scripts loaded, queue registered
    const scriptCalls = async (): Promise<number> => {
      const stats = await client.info('commandstats');
      return ['evalsha', 'eval'].reduce((sum, cmd) => sum + Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
    };
    const before = await scriptCalls();
    const sent = await Promise.all([
      ...Array.from({ length: 100 }, (_, i) => t.delay(i)),
      ...Array.from({ length: 5 }, (_, i) => high.delay(100 + i)),
      t.applyAsync([200], {}, { jobId: 'same' }),
      t.applyAsync([201], {}, { jobId: 'same' }), // the same id in the same burst: one job
    ]);
    // One call per queue and priority (normal, high) and one for the caller-chosen ids.
    // The first send of the turn goes at once, alone; the others share one call per queue and
    // priority (normal, high), and one for the caller-chosen ids.
    expect((await scriptCalls()) - before).toBe(4);
    expect(new Set(sent.map((r) => r.id)).size).toBe(106);
    await startWorker(app, { concurrency: 8 });
    await Promise.all(sent.map((r) => r.get({ timeout: 10_000 })));
    expect(seen.filter((n) => n >= 0).sort((a, b) => a - b)).toEqual([...Array.from({ length: 105 }, (_, i) => i), 200]);
  });

  it('a lone send and a burst both work after Redis forgot the scripts (a restart, SCRIPT FLUSH): they are sent again', async () => {
    const { app, t, client } = await appAlone('flushed');
    await Promise.all([t.delay(0), t.delay(1)]); // both enqueue scripts known to Redis
    await client.script('FLUSH');
    const lone = await t.delay(2);
    await client.script('FLUSH');
    const burst = await Promise.all([t.delay(3), t.delay(4), t.delay(5)]);
    await startWorker(app);
    expect(await Promise.all([lone, ...burst].map((r) => r.get({ timeout: 5000 })))).toEqual([2, 3, 4, 5]);
  });

  it('a burst that Redis refuses rejects every send in it with the broker error', async () => {
    const { t, client } = await appAlone('burst');
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    await client.config('SET', 'maxmemory', '1');
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => t.delay(i)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('rejected'));
    expect(results.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(10).fill('TASKQ_BROKER_OOM'));
  });

  it('a burst keeps its order on a fresh connection, whose first send uses a script Redis does not know yet', async () => {
    const { app, t, client } = await appAlone('fifo');
    const waiting = async (): Promise<string[]> => (await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).reverse(); // the order workers take them
    const first = await Promise.all([t.delay(1), t.delay(2), t.delay(3)]);
    expect(await waiting()).toEqual(first.map((s) => s.id));
    // Reconnected to a Redis that forgot its scripts (what a restart does).
    await client.del(app.keys.queue('default', 'waiting'));
    await client.script('FLUSH');
    const reconnected = new Promise((resolve) => client.once('ready', resolve));
    client.disconnect(true);
    await reconnected;
    const again = await Promise.all([t.delay(4), t.delay(5), t.delay(6)]);
    expect(await waiting()).toEqual(again.map((s) => s.id));
    // Sent while the connection is being replaced (its status still says ready).
    await client.del(app.keys.queue('default', 'waiting'));
    await client.script('FLUSH');
    client.disconnect(true);
    const racing = await Promise.all([t.delay(7), t.delay(8), t.delay(9)]);
    expect(await waiting()).toEqual(racing.map((s) => s.id));
  });

  it('sends made while Redis is down are stored in the order they were made once it is back', async () => {
    const { redis, app, t, client } = await appAlone('outage');
    await Promise.all([t.delay(0), t.delay(0)]);
    await client.del(app.keys.queue('default', 'waiting'));
    await redis.stop();
    await waitFor('the connection to drop', () => client.status, (s) => s !== 'ready');
    const sending = Promise.all([t.delay(1), t.delay(2), t.delay(3), t.delay(4)]);
    await redis.start();
    const sent = await sending;
    expect((await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).reverse()).toEqual(sent.map((s) => s.id));
  });
});

/** The id of the producer's own connection in CLIENT LIST once it is open (sends before that go on the app's connection). */
async function sendLineId(client: Awaited<ReturnType<typeof appAlone>>['client']): Promise<string> {
  const line = await waitFor('the send line to open', async () => (await client.client('LIST')) as string, (list) => list.includes(`name=${SEND_LINE_NAME}`));
  return /id=(\d+) [^\n]*name=taskq:command:sends/.exec(line)?.[1] as string;
}

describe("the producer's own connection", () => {
  it('serial sends go on it once it is open (EVALSHA, its name in CLIENT LIST); app.close() closes it', async () => {
    const redis = await privateRedis();
    const app = createApp({ broker: redis.url, keyPrefix: 'line' });
    const t = app.task('t', (n: number) => n);
    const admin = createApp({ broker: redis.url });
    onTestFinished(() => admin.close());
    const client = await admin.client();
    await t.delay(0);
    await t.delay(0); // the second send opens it, in the background
    const id = await sendLineId(client);
    for (let i = 1; i <= 20; i++) await t.delay(i);
    expect(await client.client('LIST')).toMatch(new RegExp(`id=${id} [^\\n]*name=${SEND_LINE_NAME} [^\\n]*cmd=evalsha`));
    expect(await client.llen(app.keys.queue('default', 'waiting'))).toBe(22);
    await app.close();
    expect(await client.client('LIST')).not.toContain(SEND_LINE_NAME);
  });

  it('lost with sends in flight: every send is stored once, in the order made; it comes back, and the order holds across', async () => {
    const { redis, app, t, client } = await appAlone('lost');
    const admin = createApp({ broker: redis.url });
    onTestFinished(() => admin.close());
    const control = await admin.client();
    const first = [await t.delay(-2), await t.delay(-1)]; // the second opens the line
    const id = await sendLineId(control);
    await control.client('PAUSE', 10_000, 'WRITE'); // the sends below wait in Redis, in flight on the line
    const sending: Array<ReturnType<typeof t.delay>> = [];
    for (let i = 0; i < 30; i++) {
      sending.push(t.delay(i));
      await new Promise((resolve) => setImmediate(resolve)); // each one written on its own
    }
    await control.client('KILL', 'ID', id);
    const killedAt = Date.now();
    await control.client('UNPAUSE');
    const sent = await Promise.all(sending);
    // Sends go on the app's connection until the line is back (a second later at the soonest), then on it.
    const more: Array<Awaited<ReturnType<typeof t.delay>>> = [];
    const lineBack = async (): Promise<boolean> => ((await control.client('LIST')) as string).includes(`name=${SEND_LINE_NAME}`);
    for (let i = 30; more.length < 20_000 && !(await lineBack()); i++) more.push(await t.delay(i));
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000); // not reopened at once: a line that keeps failing must not thrash
    for (let i = 0; i < 5; i++) more.push(await t.delay(100_000 + i));
    const back = await sendLineId(control);
    expect(back).not.toBe(id);
    expect(await control.client('LIST')).toMatch(new RegExp(`id=${back} [^\\n]*cmd=evalsha`));
    const waiting = (await client.lrange(app.keys.queue('default', 'waiting'), 0, -1)).reverse();
    expect(waiting).toEqual([...first, ...sent, ...more].map((s) => s.id));
    expect(await client.hlen(app.keys.queue('default', 'jobs'))).toBe(waiting.length);
  });
});
