/**
 * A private redis-server for one benchmark run: a free loopback port, a temp dir, no persistence
 * (`--save '' --appendonly no`), so nothing on disk slows Redis down and no system Redis is touched.
 * Also the harness's own control connection: FLUSHALL between measurements, INFO commandstats.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LocalRedis } from '../dist/broker/local-redis.js';

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * taskq's own private-Redis runner (src/broker/local-redis.ts), TCP; no persistence unless
 * `appendfsync` asks for an AOF fsynced that way.
 */
export async function startRedis({ appendfsync } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'taskq-bench-redis-'));
  const port = await freePort();
  const server = new LocalRedis({ dir, port, appendonly: appendfsync !== undefined, appendfsync });
  try {
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const control = new Redis({ host: '127.0.0.1', port, protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 });
  await control.connect();
  const version = /redis_version:(\S+)/.exec(await control.info('server'))?.[1] ?? '?';

  let stopped;
  const stop = () =>
    (stopped ??= (async () => {
      control.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    })());
  return { host: '127.0.0.1', port, control, version, stop };
}

// Commands the harness itself sends; not counted against any system.
const HARNESS_COMMANDS = new Set(['info', 'flushall', 'flushdb']);

/** Total `calls` per command from INFO commandstats (includes commands run inside Lua scripts). */
export async function commandCounts(control) {
  const counts = new Map();
  for (const line of (await control.info('commandstats')).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m && !HARNESS_COMMANDS.has(m[1])) counts.set(m[1], Number(m[2]));
  }
  return counts;
}

/** Redis CPU time used so far (user + sys), in µs. */
export async function redisCpuUs(control) {
  const info = await control.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** Commands run since `before` (a commandCounts result): {total, byCommand}. */
export async function commandsSince(control, before) {
  const after = await commandCounts(control);
  const byCommand = {};
  let total = 0;
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) {
      byCommand[name] = delta;
      total += delta;
    }
  }
  return { total, byCommand };
}

/** Redis's used_memory (bytes). */
export async function usedMemory(control) {
  return Number(/used_memory:(\d+)/.exec(await control.info('memory'))?.[1] ?? NaN);
}
