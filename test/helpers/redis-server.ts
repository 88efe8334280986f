/** Private redis-servers for tests: a free loopback port, data in a temp dir, AOF on. */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { LocalRedis } from '../../src/broker/local-redis.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export interface TestRedis extends LocalRedis {
  /** Removes the data dir (after stop). */
  remove(): void;
}

/** A started redis-server on a free port (AOF on unless told); call stop() and remove() when done. */
export async function startRedis(options: { appendonly?: boolean; appendfsync?: 'everysec' | 'always' } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'taskq-redis-'));
  const server = new LocalRedis({ dir, port: await freePort(), ...options }) as TestRedis;
  server.remove = () => rmSync(dir, { recursive: true, force: true });
  await server.start();
  return server;
}

/** A private redis-server for one test: stopped and its data removed when the test ends. */
export async function privateRedis(options: Parameters<typeof startRedis>[0] = {}): Promise<TestRedis> {
  const redis = await startRedis(options);
  onTestFinished(async () => {
    await redis.stop();
    redis.remove();
  });
  return redis;
}
