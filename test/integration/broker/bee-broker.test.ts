/** bee-queue 2.0.0 on ioredis through the adapter: the verified incompatibilities, each fixed. */
import { createRequire } from 'node:module';
import { describe, expect, it, onTestFinished } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { BeeBroker } from '../../../src/broker/bee-broker.js';
import { Redis } from '../../../src/broker/redis-factory.js';

const require = createRequire(import.meta.url);
const beeRedis = require('bee-queue/lib/redis.js') as { isClient(o: unknown): boolean };

describe('bee-queue on ioredis', () => {
  it("taskq's clients are recognised as clients by bee-queue (a plain ioredis 6 client is not)", async () => {
    const { Redis: PlainIORedis } = await import('ioredis');
    const plain = new PlainIORedis({ lazyConnect: true });
    expect(plain.constructor.name).toBe('EventEmitter'); // the defect
    expect(beeRedis.isClient(plain)).toBe(false);
    const ours = new Redis({ lazyConnect: true });
    expect(beeRedis.isClient(ours)).toBe(true);
    plain.disconnect();
    ours.disconnect();
  });

  it('every connection comes from the factory, to the configured broker (none to 127.0.0.1:6379)', async () => {
    const app = testApp();
    const client = await app.client();
    const broker = new BeeBroker('q', { factory: app.redis, client, keyPrefix: app.keys.prefix, delayedWindowMs: 60_000, label: 'probe' });
    onTestFinished(() => broker.close());
    await broker.start();
    const names = ((await client.client('LIST')) as string)
      .split('\n')
      .map((line: string) => /name=(\S*)/.exec(line)?.[1])
      .filter((n: string | undefined) => n?.endsWith(':probe'));
    expect(names.sort()).toEqual(['taskq:blocking:probe', 'taskq:subscriber:probe']);
    expect(broker.bclient).toBeInstanceOf(Redis);
    expect(broker.eclient).toBeInstanceOf(Redis);
  });

  it('saveAll() pipelines on ioredis and checkHealth() reads MULTI replies as numbers', async () => {
    const app = testApp();
    const client = await app.client();
    const broker = new BeeBroker('q', { factory: app.redis, client, keyPrefix: app.keys.prefix, delayedWindowMs: 60_000, label: 'save' });
    onTestFinished(() => broker.close());
    await broker.start();
    const jobs = [1, 2, 3].map((n) => broker.createJob({ n }));
    const errors = await broker.saveAll(jobs);
    expect(errors.size).toBe(0);
    expect(await broker.checkHealth()).toEqual({ waiting: 3, active: 0, delayed: 0, dead: 0 });
  });
});
