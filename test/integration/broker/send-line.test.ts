/** A producer's own connection for its scripts: handshake, EVAL then EVALSHA, answers in order, and every way it can fail. */
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { SendLine, type LineTarget } from '../../../src/broker/send-line.js';
import { scriptText } from '../../../src/broker/scripts.js';
import { brokerError } from '../../../src/broker/broker-errors.js';
import { privateRedis, type TestRedis } from '../../helpers/redis-server.js';
import { tlsRedis } from '../../helpers/tls-redis.js';
import { LocalRedis } from '../../../src/broker/local-redis.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ONE = scriptText('taskqEnqueueOne');
const KEYS = ['line:q:jobs', 'line:q:waiting'];

function targetOf(redis: TestRedis, extra: Partial<LineTarget> = {}): LineTarget {
  const url = new URL(redis.url);
  return { host: url.hostname, port: Number(url.port), ...extra };
}

function adminOf(redis: TestRedis, db = 0): Redis {
  const url = new URL(redis.url);
  const admin = new Redis({ host: url.hostname, port: Number(url.port), db });
  onTestFinished(() => void admin.quit());
  return admin;
}

async function openLine(target: LineTarget, timeoutMs = 2000): Promise<SendLine> {
  const line = await SendLine.open(target, 'taskq:command:sends', timeoutMs);
  onTestFinished(() => line.close());
  return line;
}

/** A TCP server that accepts and never answers (`greet` may do something to each connection first). */
async function silentServer(greet: (socket: Socket) => unknown = () => {}): Promise<{ port: number; sockets: Socket[]; server: Server }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    greet(s);
    if (!s.destroyed) sockets.push(s.resume());
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => {
    sockets.forEach((s) => s.destroy());
    server.close();
  });
  return { port: (server.address() as { port: number }).port, sockets, server };
}

const never = (): Promise<unknown> => Promise.reject(new Error('the fallback was not expected here'));

/** Counts of EVAL and EVALSHA Redis ran. */
async function scriptCalls(admin: Redis): Promise<{ eval: number; evalsha: number }> {
  const stats = await admin.info('commandstats');
  const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return { eval: calls('eval'), evalsha: calls('evalsha') };
}

describe('the send line', () => {
  it('signs in with the password, selects the db, names itself, and stores what it is asked to', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    await admin.config('SET', 'requirepass', 'sesame');
    await admin.auth('sesame');
    const line = await openLine(targetOf(redis, { password: 'sesame', db: 3 }));
    expect(await line.call(ONE, KEYS, ['job-1', '{"r":1}'], never)).toBe(1);
    expect(await line.call(ONE, KEYS, ['job-1', '{"r":2}'], never)).toBe(0); // the same id: left as it was
    await admin.select(3);
    expect(await admin.hget(KEYS[0] as string, 'job-1')).toBe('{"r":1}');
    expect(await admin.lrange(KEYS[1] as string, 0, -1)).toEqual(['job-1']);
    expect(await admin.client('LIST')).toContain('name=taskq:command:sends');
  });

  it('speaks TLS (rediss://) when the target says so, checking the certificate', async () => {
    const redis = await tlsRedis();
    const line = await openLine({ host: '127.0.0.1', port: redis.port, tls: { ca: redis.ca } });
    expect(await line.call(ONE, KEYS, ['over-tls', '{}'], never)).toBe(1);
    // A certificate nobody said to trust: refused, as ioredis refuses it.
    await expect(SendLine.open({ host: '127.0.0.1', port: redis.port, tls: {} }, 'x', 2000)).rejects.toThrow(/self[- ]signed/);
  });

  it('connects over a unix socket (unix://, what npm start uses)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-line-'));
    const redis = new LocalRedis({ dir, appendonly: false });
    onTestFinished(async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await redis.start();
    const line = await openLine({ path: redis.socket });
    expect(await line.call(ONE, KEYS, ['over-unix', '{}'], never)).toBe(1);
  });

  it('a user without a password (redis://alice@host) signs in as that user, as ioredis does, not as default', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    await admin.call('ACL', 'SETUSER', 'alice', 'on', 'nopass', '~*', '+@all');
    const line = await openLine(targetOf(redis, { username: 'alice' }));
    expect(await line.call(ONE, KEYS, ['a', '{}'], never)).toBe(1);
    expect(await admin.client('LIST')).toMatch(/name=taskq:command:sends [^\n]*user=alice/);
  });

  it('a Redis that refuses CLIENT SETNAME (a managed one, ACLs) still gets a line, as ioredis ignores that refusal', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    await admin.call('ACL', 'SETUSER', 'bob', 'on', '>pw', '~*', '+@all', '-client');
    const line = await openLine(targetOf(redis, { username: 'bob', password: 'pw' }));
    expect(await line.call(ONE, KEYS, ['b', '{}'], never)).toBe(1);
  });

  it('the open timeout holds through garbage collections when a stop signal is given too', async () => {
    const { port } = await silentServer();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let settled = false;
    const opening = SendLine.open({ host: '127.0.0.1', port }, 'x', 200, new AbortController().signal).then(
      () => new Error('it opened'),
      (err: unknown) => err,
    );
    void opening.finally(() => (settled = true));
    // Collect garbage while it waits: a timeout held only weakly (AbortSignal.any on Node 20) is lost.
    for (let i = 0; i < 100 && !settled; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(String(await opening)).toMatch(/did not answer .* within 200 ms/);
  });

  it('a wrong password: opening fails with what Redis said, which taskq reports as an auth problem', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    await admin.config('SET', 'requirepass', 'sesame');
    const err = await SendLine.open(targetOf(redis, { password: 'wrong' }), 'x', 2000).catch((e: unknown) => e);
    expect(brokerError(err, 'opening the send line')).toMatchObject({ code: 'TASKQ_BROKER_AUTH' });
  });

  it('nothing listening: opening fails at once with ECONNREFUSED', async () => {
    const redis = await privateRedis();
    const target = targetOf(redis);
    await redis.stop();
    await expect(SendLine.open(target, 'x', 2000)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a server that accepts but never answers: opening gives up after its timeout and closes the connection', async () => {
    const { port, sockets } = await silentServer();
    await expect(SendLine.open({ host: '127.0.0.1', port }, 'x', 300)).rejects.toThrow(/did not answer .* within 300 ms/);
    expect(sockets).toHaveLength(1);
    if (!sockets[0]?.closed) await once(sockets[0] as Socket, 'close');
  });

  it('a server that closes at once: opening fails saying so; and an opening is given up when its stop signal aborts', async () => {
    let closeAtOnce = true;
    const { port, server } = await silentServer((s) => closeAtOnce && s.destroy());
    await expect(SendLine.open({ host: '127.0.0.1', port }, 'x', 10_000)).rejects.toThrow(/closed before Redis answered/);
    closeAtOnce = false;
    const stop = new AbortController();
    const opening = SendLine.open({ host: '127.0.0.1', port }, 'x', 60_000, stop.signal);
    await once(server, 'connection');
    stop.abort(); // the producer was closed meanwhile
    await expect(opening).rejects.toThrow();
  });

  it('stays open after its open timeout has passed (the timeout bounds the opening only)', async () => {
    const redis = await privateRedis();
    const line = await openLine(targetOf(redis), 100);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the time under test: past the 100 ms
    expect(line.up).toBe(true);
    expect(await line.call(ONE, KEYS, ['a', '{}'], never)).toBe(1);
  });

  it('sends a script with EVAL the first time, EVALSHA after; after SCRIPT FLUSH it sends it again and still answers', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    const line = await openLine(targetOf(redis));
    const before = await scriptCalls(admin);
    await line.call(ONE, KEYS, ['a', '{}'], never);
    await line.call(ONE, KEYS, ['b', '{}'], never);
    const after = await scriptCalls(admin);
    expect([after.eval - before.eval, after.evalsha - before.evalsha]).toEqual([1, 1]);
    await admin.script('FLUSH');
    expect(await line.call(ONE, KEYS, ['c', '{}'], never)).toBe(1);
    expect(await admin.lrange(KEYS[1] as string, 0, -1)).toEqual(['c', 'b', 'a']);
  });

  it('answers go to their calls in order, 1,000 in flight at once', async () => {
    const redis = await privateRedis();
    const line = await openLine(targetOf(redis));
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => line.call(ONE, KEYS, [`id-${i % 500}`, '{}'], never)));
    expect(replies).toEqual([...Array(500).fill(1), ...Array(500).fill(0)]);
  });

  it('an error answer (out of memory) rejects its own call with what Redis said; the line stays up', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    const line = await openLine(targetOf(redis));
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    const err = await line.call(ONE, KEYS, ['a', '{}'], never).catch((e: unknown) => e);
    expect(brokerError(err, 'sending')).toMatchObject({ code: 'TASKQ_BROKER_OOM' });
    await admin.config('SET', 'maxmemory', '0');
    expect(line.up).toBe(true);
    expect(await line.call(ONE, KEYS, ['a', '{}'], never)).toBe(1);
  });

  it('calls in flight when the connection drops go to the fallback, in the order they were made', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    const line = await openLine(targetOf(redis));
    const id = /id=(\d+) [^\n]*name=taskq:command:sends/.exec((await admin.client('LIST')) as string)?.[1];
    await admin.client('PAUSE', 5000, 'WRITE'); // Redis holds every script call: all of them are in flight
    const fellBack: number[] = [];
    const calls = Array.from({ length: 20 }, (_, i) => line.call(ONE, KEYS, [`id-${i}`, '{}'], async () => fellBack.push(i)));
    await admin.client('KILL', 'ID', id as string);
    await Promise.all(calls);
    expect(fellBack).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(line.up).toBe(false);
    await expect(line.call(ONE, KEYS, ['late', '{}'], async () => 'fallback')).resolves.toBe('fallback');
    await admin.client('UNPAUSE');
    expect(await admin.hlen(KEYS[0] as string)).toBe(0); // none of them ran on the killed line
  });

  it('a READONLY answer (a failover left it on a replica) closes the line and hands the call to the fallback', async () => {
    const primary = await privateRedis();
    const replica = await privateRedis();
    await adminOf(replica).replicaof('127.0.0.1', Number(new URL(primary.url).port));
    const line = await openLine(targetOf(replica));
    await expect(line.call(ONE, KEYS, ['a', '{}'], async () => 'sent elsewhere')).resolves.toBe('sent elsewhere');
    expect(line.up).toBe(false);
  });

  it('close() waits for the answers of the calls on the line, then ends it', async () => {
    const redis = await privateRedis();
    const admin = adminOf(redis);
    const line = await SendLine.open(targetOf(redis), 'taskq:command:sends', 2000);
    const calls = Array.from({ length: 50 }, (_, i) => line.call(ONE, KEYS, [`id-${i}`, '{}'], never));
    await line.close();
    expect(await Promise.all(calls)).toEqual(Array(50).fill(1));
    expect(await admin.client('LIST')).not.toContain('name=taskq:command:sends');
  });
});
