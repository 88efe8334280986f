/** Which connection a producer's scripts go on, and that their order holds across every switch. */
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis, type RedisOptions } from 'ioredis';
import { ScriptSender, lineTarget, SEND_LINE_NAME } from '../../../src/broker/script-sender.js';
import { defineScripts } from '../../../src/broker/scripts.js';
import { privateRedis } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait-for.js';

const KEYS = ['s:q:jobs', 's:q:waiting'];

/**
 * A TCP proxy to `port` that can hold what one of its connections (by the order they came in) sends
 * to Redis, and tells what each has sent (so a test knows which connection a call took).
 */
async function holdingProxy(port: number): Promise<{ port: number; hold(n: number): void; release(n: number): void; sent(n: number): string }> {
  const pairs: Array<{ client: Socket; upstream: Socket; held: Buffer[] | undefined; sent: string }> = [];
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const pair = { client, upstream, held: undefined as Buffer[] | undefined, sent: '' };
    for (const s of [client, upstream]) s.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (data: Buffer) => {
      pair.sent += data.toString('latin1');
      if (pair.held) pair.held.push(data);
      else upstream.write(data);
    });
    upstream.pipe(client);
    pairs.push(pair);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    pairs.forEach((p) => p.client.destroy());
    server.close();
  });
  return {
    port: (server.address() as { port: number }).port,
    hold: (n) => {
      const p = pairs[n];
      if (p) p.held = [];
    },
    release: (n) => {
      const p = pairs[n];
      if (!p?.held) return;
      for (const data of p.held) p.upstream.write(data);
      p.held = undefined;
    },
    sent: (n) => pairs[n]?.sent ?? '',
  };
}

function client(options: RedisOptions): Redis {
  const c = new Redis(options);
  defineScripts(c);
  onTestFinished(() => c.disconnect());
  return c;
}

describe('ScriptSender', () => {
  it('waits for calls still on the app connection before it uses the line, so a later call is never stored first', async () => {
    const redis = await privateRedis();
    const proxy = await holdingProxy(Number(new URL(redis.url).port));
    const app = client({ host: '127.0.0.1', port: proxy.port });
    await app.ping(); // connection 0: the app's; the line will be connection 1
    const sender = new ScriptSender();
    onTestFinished(() => sender.close());
    expect(await sender.run(app, 'taskqEnqueueOne', KEYS, ['first', '{}'])).toBe(1);
    expect(sender.lineState).toBe('none'); // one call opens nothing: a producer may send only once
    proxy.hold(0);
    const a = sender.run(app, 'taskqEnqueueOne', KEYS, ['a', '{}']); // on the app connection, held; the line opens meanwhile
    await waitFor('the line to open', () => sender.lineState, (state) => state === 'open');
    const b = sender.run(app, 'taskqEnqueueOne', KEYS, ['b', '{}']);
    proxy.release(0);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    const admin = client({ host: '127.0.0.1', port: Number(new URL(redis.url).port) });
    expect(await admin.lrange(KEYS[1] as string, 0, -1)).toEqual(['b', 'a', 'first']); // a stored before b
    expect(await sender.run(app, 'taskqEnqueueOne', KEYS, ['c', '{}'])).toBe(1);
    expect(await admin.client('LIST')).toMatch(new RegExp(`name=${SEND_LINE_NAME} [^\\n]*cmd=eval `)); // its first script call there: EVAL
  });

  it('any command still waiting on the app connection (a revoke, a queue registration) keeps a send behind it', async () => {
    const redis = await privateRedis();
    const proxy = await holdingProxy(Number(new URL(redis.url).port));
    const app = client({ host: '127.0.0.1', port: proxy.port });
    const sender = new ScriptSender();
    onTestFinished(() => sender.close());
    await sender.run(app, 'taskqEnqueueOne', KEYS, ['first', '{}']);
    await sender.run(app, 'taskqEnqueueOne', KEYS, ['second', '{}']);
    await waitFor('the line to open', () => sender.lineState, (state) => state === 'open');
    proxy.hold(0);
    const plain = app.lpush(KEYS[1] as string, 'plain'); // made first, held on the app connection
    const sent = sender.run(app, 'taskqEnqueueOne', KEYS, ['scripted', '{}']);
    await waitFor('the send to leave', () => proxy.sent(0) + proxy.sent(1), (text) => text.includes('scripted'));
    proxy.release(0);
    await Promise.all([plain, sent]);
    expect((await app.lrange(KEYS[1] as string, 0, 1)).reverse()).toEqual(['plain', 'scripted']);
  });

  it('calls made while close() drains the line go on it behind the ones there, not around them', async () => {
    const redis = await privateRedis();
    const proxy = await holdingProxy(Number(new URL(redis.url).port));
    const app = client({ host: '127.0.0.1', port: proxy.port });
    await app.ping(); // connection 0: the app's; the line is connection 1
    const sender = new ScriptSender();
    await sender.run(app, 'taskqEnqueueOne', KEYS, ['first', '{}']);
    await sender.run(app, 'taskqEnqueueOne', KEYS, ['second', '{}']);
    await waitFor('the line to open', () => sender.lineState, (state) => state === 'open');
    proxy.hold(1);
    const a = sender.run(app, 'taskqEnqueueOne', KEYS, ['a', '{}']); // on the line, held
    const closing = sender.close(); // app.close() with a send made in the same turn still to go
    const b = sender.run(app, 'taskqEnqueueOne', KEYS, ['b', '{}']);
    await waitFor('b to leave', () => proxy.sent(0) + proxy.sent(1), (text) => text.includes('$1\r\nb\r\n'));
    proxy.release(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    await closing;
    expect((await app.lrange(KEYS[1] as string, 0, 1)).reverse()).toEqual(['a', 'b']);
  });

  it('when Redis refuses the line (maxclients reached), every call goes on the app connection', async () => {
    const redis = await privateRedis();
    const app = client({ host: '127.0.0.1', port: Number(new URL(redis.url).port) });
    await app.config('SET', 'maxclients', '1'); // the app's own connection is the one
    const sender = new ScriptSender();
    onTestFinished(() => sender.close());
    for (let i = 0; i < 20; i++) expect(await sender.run(app, 'taskqEnqueueOne', KEYS, [`id-${i}`, '{}'])).toBe(1);
    expect(sender.lineState).toBe('none');
    expect(await app.llen(KEYS[1] as string)).toBe(20);
  });

  it('reaches Redis the way the app connection does, or not at all where it could not (sentinels, a key prefix)', () => {
    const options = { host: 'h', port: 1, db: 2, username: 'u', password: 'p', tls: {}, keepAlive: 30_000, family: 4 };
    expect(lineTarget(options)).toEqual(options);
    expect(lineTarget({ path: '/run/redis.sock' })).toMatchObject({ path: '/run/redis.sock' });
    expect(lineTarget({ sentinels: [{ host: 'h', port: 26379 }], name: 'mymaster' })).toBeUndefined();
    expect(lineTarget({ host: 'h', keyPrefix: 'x:' })).toBeUndefined();
  });
});
