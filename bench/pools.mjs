/**
 * Pool benchmark: processing throughput of a no-op and of a 1 ms CPU task for each pool type
 * (async, threads, processes) at c=1/2/4, one worker node in this process, the queue filled first;
 * and the per-task overhead of the threads and processes pools against async (no-op, c=1).
 */
import { fileURLToPath } from 'node:url';
import { withWatchdog } from './util.mjs';

const APP = fileURLToPath(new URL('./pool-app.mjs', import.meta.url));
const POOLS = ['async', 'threads', 'processes'];
const TASKS = [
  ['noop', 'bench.noop'],
  ['cpu1ms', 'bench.cpu1ms'],
];
const CONCURRENCIES = [1, 2, 4];

async function drain(app, WorkerNode, pool, task, c, n) {
  const def = app.tasks.get(task);
  const client = await app.client();
  await client.flushdb();
  await app.dispatchBulk(def, Array.from({ length: n }, () => []), {});
  const node = new WorkerNode(app, { queues: ['bench'], concurrency: c, pool, appModule: APP });
  let done = 0;
  const finished = new Promise((resolve) => node.on('job-finished', () => ++done === n && resolve()));
  // Pool children start inside start(); the clock starts once the node takes jobs.
  await node.start();
  const t0 = performance.now();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  await node.stop();
  return n / seconds;
}

/** Runs every combination; returns {figures: {pool: {task: {c1, c2, c4}}}, overheadUs: {threads, processes}}. */
export async function measurePools(redis, { n, log }) {
  process.env.TASKQ_BROKER_URL = `redis://${redis.host}:${redis.port}/0`;
  process.env.TASKQ_KEY_PREFIX = 'benchpools';
  const { app } = await import('./pool-app.mjs');
  const { WorkerNode } = await import('../dist/index.js');
  const figures = {};
  for (const pool of POOLS) {
    figures[pool] = {};
    for (const [label, task] of TASKS) {
      figures[pool][label] = {};
      for (const c of CONCURRENCIES) {
        const count = label === 'noop' ? n : Math.max(200, Math.round(n / 4));
        const rate = await withWatchdog(`pool ${pool} ${label} c=${c}`, 120_000, () => drain(app, WorkerNode, pool, task, c, count));
        figures[pool][label][`c${c}`] = rate;
        log(`pool ${pool} ${label} c=${c}: ${Math.round(rate)} jobs/s`);
      }
    }
  }
  await app.close();
  const perTaskUs = (pool) => 1e6 / figures[pool].noop.c1 - 1e6 / figures.async.noop.c1;
  return { figures, overheadUs: { threads: perTaskUs('threads'), processes: perTaskUs('processes') } };
}

export function poolsTable({ figures, overheadUs }) {
  const rows = [['pool', ...TASKS.flatMap(([label]) => CONCURRENCIES.map((c) => `${label} c=${c}`))]];
  for (const pool of POOLS) {
    rows.push([pool, ...TASKS.flatMap(([label]) => CONCURRENCIES.map((c) => Math.round(figures[pool][label][`c${c}`]).toLocaleString('en-US')))]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const text = rows.map((r) => r.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ')).join('\n');
  return (
    `pools (jobs/s, one node, its defaults: results on, task events off)\n${text}\n` +
    `per-task overhead vs async (no-op, c=1): threads +${overheadUs.threads.toFixed(0)} µs, processes +${overheadUs.processes.toFixed(0)} µs\n`
  );
}
