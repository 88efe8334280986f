/**
 * `taskq multi` against `celery multi` (Debian's python3-celery) on the same Redis: the four
 * flagship nodes (same names, queues, concurrency) from `multi start` until every node answers a
 * ping, and how long `multi stopwait` returns after the end of the last running task (1 s long).
 * Goals: start ≤ 0.5× Celery's time; stopwait ≤ 200 ms past the task's end.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from './util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODES = ['capture', 'analyze', 'download', 'schedule'];
const LAYOUT = ['-c:1', '1', '-c:2', '2', '-c:3', '4', '-c:4', '1', '-Q:1', 'q_pcap', '-Q:2', 'q_analyze', '-Q:3', 'q_download', '-Q:4', 'q_schedule'];
const PYTHON = '/usr/bin/python3';

async function run(argv, env, cwd = ROOT) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${argv.slice(0, 4).join(' ')} … exited ${code}: ${err || out}`);
  return out;
}

async function taskqRun(broker, dir) {
  const env = { TASKQ_BROKER_URL: broker, TASKQ_KEY_PREFIX: 'benchmulti' };
  const line = [...NODES, '-A', 'bench/multi-app.mjs', ...LAYOUT, `--pidfile=${dir}/%n.pid`, `--logfile=${dir}/%n%I.log`, '-q'];
  const { createApp } = await import('../dist/index.js');
  const app = createApp({ broker, keyPrefix: 'benchmulti' });
  try {
    const t0 = Date.now();
    await run([process.execPath, 'bin/taskq', 'multi', 'start', ...line], env);
    while ((await app.control.inspect('ping')).replies.length < NODES.length) if (Date.now() - t0 > 60_000) throw new Error('taskq nodes did not all answer ping');
    const startMs = Date.now() - t0;
    const key = `bench:taskq:${t0}`;
    await app.send('bench.sleep', [1000, key], {}, { queue: 'q_schedule' });
    const client = await app.client();
    while (!(await client.get(`${key}:start`))) await new Promise((r) => setTimeout(r, 5));
    await run([process.execPath, 'bin/taskq', 'multi', 'stopwait', ...NODES, `--pidfile=${dir}/%n.pid`, '-q'], env);
    const returned = Date.now();
    const end = Number(await client.get(`${key}:end`));
    return { startMs, stopLagMs: end ? returned - end : null };
  } finally {
    await app.close();
  }
}

async function celeryRun(broker, dir) {
  return JSON.parse(await run([PYTHON, 'celery_multi_app.py', broker, dir], {}, `${ROOT}bench`));
}

async function celeryAvailable() {
  if (!existsSync(PYTHON)) return false;
  try {
    await run([PYTHON, '-c', 'import celery, redis'], {});
    return true;
  } catch {
    return false;
  }
}

/** {taskq: {startMs, stopLagMs, runs}, celery: {…} | {skipped}} — medians over `runs`. */
export async function measureMulti(redis, { runs, log }) {
  const out = {};
  const systems = [['taskq', taskqRun, 0]];
  if (await celeryAvailable()) systems.push(['celery', celeryRun, 3]);
  else out.celery = { skipped: 'python3-celery is not installed (npm run bench installs it with apt-get)' };
  for (const [name, fn, db] of systems) {
    const list = [];
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(`${tmpdir()}/taskq-bench-multi-`);
      try {
        const r = await fn(`redis://${redis.host}:${redis.port}/${db + 5}`, dir);
        log(`multi ${name} run ${i + 1}/${runs}: start ${Math.round(r.startMs)} ms, stopwait ${Math.round(r.stopLagMs)} ms past the task's end`);
        list.push(r);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    out[name] = { startMs: median(list.map((r) => r.startMs)), stopLagMs: median(list.map((r) => r.stopLagMs)), runs: list };
  }
  return out;
}

export function multiText(m) {
  const f = (v) => (v === null || v === undefined ? '—' : String(Math.round(v)));
  const ratio = m.celery?.startMs ? `${(m.taskq.startMs / m.celery.startMs).toFixed(2)}×` : '—';
  const lines = [
    'multi: the four flagship nodes            taskq   celery   taskq/celery   goal',
    `start, until every node answers (ms)    ${f(m.taskq.startMs).padStart(7)}  ${f(m.celery?.startMs).padStart(7)}   ${ratio.padStart(12)}   ≤ 0.50×`,
    `stopwait, past the last task's end (ms) ${f(m.taskq.stopLagMs).padStart(7)}  ${f(m.celery?.stopLagMs).padStart(7)}   ${''.padStart(12)}   ≤ 200 ms`,
  ];
  if (m.celery?.skipped) lines.push(`(celery: ${m.celery.skipped})`);
  return `${lines.join('\n')}\n`;
}
