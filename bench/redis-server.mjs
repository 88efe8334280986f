/**
 * A private redis-server for one benchmark run: a free loopback port, a temp dir, no persistence
 * (`--save '' --appendonly no`), so nothing on disk slows Redis down and no system Redis is touched.
 * Also the harness's own control connection: FLUSHALL between measurements, INFO commandstats.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const READY_TIMEOUT_MS = 10_000;
const KILL_DELAY_MS = 3_000;

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

function waitReady(child, timeoutMs) {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (is it installed? npm run bench installs it): ${err.message}`));
    });
  });
}

/** Starts the server; resolves with {host, port, control, version, stop()}. */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'taskq-bench-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await waitReady(child, READY_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
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
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_DELAY_MS);
        await exited;
        clearTimeout(timer);
      }
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
