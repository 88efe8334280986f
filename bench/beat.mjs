/**
 * Beat's fire lag (slot → job stored) with 100 entries firing every second for a while, side by side
 * with Celery beat (same 100 entries, same Redis; its lag against each entry's due time), and with
 * node-cron's own scheduler (100 tasks every second in one process, its callback's lag behind the
 * scheduled second, no Redis at all) — the measurement behind driving slots with the leader's timer.
 * Goal: taskq p99 ≤ 50 ms.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { percentile } from './util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRIES = 100;
const PYTHON = '/usr/bin/python3';

function stats(lags) {
  return { n: lags.length, p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99), maxMs: lags.length ? Math.max(...lags) : null };
}

/** Runs `argv` for `ms`, then SIGTERM (SIGKILL 10 s later). */
async function runFor(argv, env, cwd, ms) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const exited = once(child, 'exit');
  const stop = setTimeout(() => child.kill('SIGTERM'), ms);
  const kill = setTimeout(() => child.kill('SIGKILL'), ms + 10_000);
  const [code, signal] = await exited;
  clearTimeout(stop);
  clearTimeout(kill);
  if (code !== 0 && signal !== 'SIGTERM' && code !== 143 && code !== null) throw new Error(`${argv.slice(0, 3).join(' ')} exited ${code}: ${err.slice(-2000)}`);
}

async function taskqLag(broker, seconds) {
  const { createApp } = await import('../dist/index.js');
  const app = createApp({ broker, keyPrefix: 'benchbeat' });
  try {
    const client = await app.client();
    await runFor([process.execPath, 'bin/taskq', 'beat', '-A', 'bench/beat-app.mjs', '-l', 'warn'], { TASKQ_BROKER_URL: broker, TASKQ_KEY_PREFIX: 'benchbeat', BENCH_BEAT_ENTRIES: String(ENTRIES) }, ROOT, seconds * 1000);
    const entries = await client.xrange(`benchbeat:events`, '-', '+');
    const lags = entries.filter(([, f]) => f[1] === 'beat-fired').map(([id, f]) => Number(id.split('-')[0]) - JSON.parse(f[3]).slot);
    return stats(lags);
  } finally {
    await app.close();
  }
}

async function celeryLag(broker, seconds) {
  const { Redis } = await import('ioredis');
  const r = new Redis(broker);
  const dir = mkdtempSync(`${tmpdir()}/taskq-bench-celery-beat-`);
  try {
    await r.del('bench:celery-beat:lag');
    const env = { BENCH_BROKER: broker, BENCH_BEAT_ENTRIES: String(ENTRIES), PYTHONPATH: `${ROOT}bench` };
    await runFor([PYTHON, '-m', 'celery', '-A', 'celery_beat_app', 'beat', '-S', 'celery_beat_app:LagScheduler', '-s', `${dir}/schedule`, '-l', 'warning', '--pidfile='], env, dir, seconds * 1000);
    return stats((await r.lrange('bench:celery-beat:lag', 0, -1)).map(Number));
  } finally {
    r.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function nodeCronLag(seconds) {
  const cron = (await import('node-cron')).default;
  const lags = [];
  const tasks = Array.from({ length: ENTRIES }, () => cron.schedule('* * * * * *', (ctx) => void lags.push(Date.now() - ctx.date.getTime())));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await Promise.all(tasks.map((t) => t.destroy()));
  return stats(lags);
}

async function celeryAvailable() {
  if (!existsSync(PYTHON)) return false;
  const child = spawn(PYTHON, ['-c', 'import celery, redis'], { stdio: 'ignore' });
  const [code] = await once(child, 'exit');
  return code === 0;
}

export async function measureBeat(redis, { seconds = 30, log }) {
  const out = {};
  log(`beat: taskq, ${ENTRIES} entries every second for ${seconds} s`);
  out.taskq = await taskqLag(`redis://${redis.host}:${redis.port}/8`, seconds);
  log(`beat: node-cron scheduler alone, ${ENTRIES} tasks every second for ${seconds} s`);
  out.nodeCron = await nodeCronLag(seconds);
  if (await celeryAvailable()) {
    log(`beat: celery beat, ${ENTRIES} entries every second for ${seconds} s`);
    out.celery = await celeryLag(`redis://${redis.host}:${redis.port}/9`, seconds);
  } else out.celery = { skipped: 'python3-celery is not installed (npm run bench installs it)' };
  return out;
}

export function beatText(b) {
  const f = (v) => (v === null || v === undefined ? '—' : v.toFixed(1));
  const row = (name, s) => `${name.padEnd(44)}${String(s?.n ?? '—').padStart(6)}  ${f(s?.p50Ms).padStart(7)}  ${f(s?.p99Ms).padStart(7)}  ${f(s?.maxMs).padStart(7)}`;
  return [
    `beat: fire lag, ${ENTRIES} entries every second          fires   p50 ms   p99 ms   max ms   (goal: taskq p99 ≤ 50 ms)`,
    row('taskq beat (slot → job stored in Redis)', b.taskq),
    row('node-cron scheduler alone (no Redis)', b.nodeCron),
    b.celery?.skipped ? `celery beat: ${b.celery.skipped}` : row('celery beat (due → sent)', b.celery),
    '',
  ].join('\n');
}
