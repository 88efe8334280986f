/**
 * A chord of 10,000 no-op tasks, taskq against Celery (Debian's python3-celery, Redis broker and
 * result backend) on the same private Redis: the time from sending the chord to its body's result,
 * and Redis commands per member (INFO commandstats over the run, commands inside scripts included,
 * the idle worker's polling too). Each side runs one worker with concurrency 2 (the machine's cores).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandCounts, commandsSince } from './redis-server.mjs';
import { median } from './util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const PREFIX = 'benchchord';

function lines(child) {
  const rl = createInterface({ input: child.stdout });
  const queue = [];
  const waiting = [];
  rl.on('line', (l) => (waiting.length ? waiting.shift()(l) : queue.push(l)));
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
}

async function taskqRuns(redis, n, runs, log) {
  const broker = `redis://${redis.host}:${redis.port}/0`;
  const env = { ...process.env, TASKQ_BROKER_URL: broker, TASKQ_KEY_PREFIX: PREFIX };
  const worker = spawn(process.execPath, ['bin/taskq', 'worker', '-A', 'bench/chord-app.mjs', '-c', '2', '-Q', 'bench_chord', '-l', 'warning', '-n', 'chord@%h'], { cwd: ROOT, env, stdio: 'ignore' });
  const { createApp, chord } = await import('../dist/index.js');
  const app = createApp({ broker, keyPrefix: PREFIX, defaultQueue: 'bench_chord' });
  const out = [];
  try {
    const t0 = Date.now();
    while ((await app.control.inspect('ping', { timeoutMs: 500 })).replies.length < 1) if (Date.now() - t0 > 60_000) throw new Error('the taskq worker did not answer ping');
    for (let run = 1; run <= runs; run++) {
      const before = await commandCounts(redis.control);
      const started = performance.now();
      const members = Array.from({ length: n }, () => app.signature('bench.noop'));
      const r = await chord(members, app.signature('bench.count')).delay();
      const value = await r.get({ timeout: 600_000 });
      const ms = performance.now() - started;
      if (value !== n) throw new Error(`taskq chord body counted ${value}, expected ${n}`);
      const { total } = await commandsSince(redis.control, before);
      out.push({ ms, perMember: total / n });
      log(`chord run ${run}/${runs} taskq: ${(ms / 1000).toFixed(2)} s, ${(total / n).toFixed(1)} Redis commands per member`);
    }
  } finally {
    await app.close();
    worker.kill('SIGTERM');
    await once(worker, 'exit');
  }
  return out;
}

async function celeryRuns(redis, n, runs, log) {
  const broker = `redis://${redis.host}:${redis.port}/1`;
  const child = spawn(PYTHON, ['celery_chord_app.py', broker, String(n), String(runs)], { cwd: `${ROOT}bench`, env: { ...process.env, BENCH_BROKER: broker }, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const next = lines(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 1_200_000);
  const out = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const go = await Promise.race([next(), exited.then(([code]) => Promise.reject(new Error(`celery_chord_app.py exited ${code}`)))]);
      if (!go.startsWith('GO')) throw new Error(`celery_chord_app.py said ${go}`);
      const before = await commandCounts(redis.control);
      child.stdin.write('\n');
      const { ms } = JSON.parse(await next());
      const { total } = await commandsSince(redis.control, before);
      child.stdin.write('\n');
      out.push({ ms, perMember: total / n });
      log(`chord run ${run}/${runs} celery: ${(ms / 1000).toFixed(2)} s, ${(total / n).toFixed(1)} Redis commands per member`);
    }
    const [code] = await exited;
    if (code !== 0) throw new Error(`celery_chord_app.py exited ${code}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  return out;
}

async function celeryAvailable() {
  if (!existsSync(PYTHON)) return false;
  const child = spawn(PYTHON, ['-c', 'import celery, redis'], { stdio: 'ignore' });
  const [code] = await once(child, 'exit');
  return code === 0;
}

const summary = (runs) => ({ ms: median(runs.map((r) => r.ms)), perMember: median(runs.map((r) => r.perMember)), runs });

/** {n, taskq: {ms, perMember, runs}, celery: {…} | {skipped}} — medians over `runs`. */
export async function measureChord(redis, { n = 10_000, runs = 3, log }) {
  const out = { n, taskq: summary(await taskqRuns(redis, n, runs, log)) };
  out.celery = (await celeryAvailable()) ? summary(await celeryRuns(redis, n, runs, log)) : { skipped: 'python3-celery is not installed (npm run bench installs it with apt-get)' };
  return out;
}

export function chordText(c) {
  const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '—');
  const cel = c.celery.skipped ? undefined : c.celery;
  return [
    `chord of ${c.n.toLocaleString('en-US')} no-op tasks (one worker each, concurrency 2)   taskq    celery   taskq/celery`,
    `  send → body's result                                   ${s(c.taskq.ms).padEnd(8)} ${cel ? s(cel.ms).padEnd(8) : 'skipped '} ${cel ? ratio(c.taskq.ms, cel.ms) : ''}`,
    `  Redis commands per member                              ${c.taskq.perMember.toFixed(1).padEnd(8)} ${cel ? cel.perMember.toFixed(1).padEnd(8) : '        '} ${cel ? ratio(c.taskq.perMember, cel.perMember) : ''}`,
    c.celery.skipped ? `  celery: ${c.celery.skipped}` : '',
    '',
  ].join('\n');
}
