/**
 * The measurements. Each starts from an empty Redis (FLUSHALL), runs under a watchdog, and returns
 * plain figures: throughput in jobs/s, latency in ms, Redis commands (INFO commandstats deltas).
 */
import { commandCounts, commandsSince, redisCpuUs, usedMemory } from './redis-server.mjs';
import { startWorker } from './worker-process.mjs';
import { nowMs, percentile, ranges, runPool, sleep, withWatchdog } from './util.mjs';

const BULK_CHUNK = 1000;
const IN_FLIGHT = 100;
const WARMUP_JOBS = 200;

/** Watchdog budget for a measurement of n jobs: generous, but bounded (≥ 500 jobs/s + 20 s). */
const budgetMs = (n) => 20_000 + n * 2;

async function withProducer(system, redis, fn) {
  const p = await system.producer(redis);
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

export const ENQUEUE_MODES = {
  serial: async (p, n) => {
    for (let i = 0; i < n; i++) await p.send({ i });
  },
  inflight: (p, n) => runPool(n, IN_FLIGHT, (i) => p.send({ i })),
  bulk: async (p, n) => {
    for (const [start, end] of ranges(n, BULK_CHUNK)) {
      await p.sendBulk(Array.from({ length: end - start }, (_, k) => ({ i: start + k })));
    }
  },
};

/** Enqueue throughput of one mode; the producer is warmed up (scripts loaded, JIT) first. */
export function enqueue(system, redis, mode, n) {
  return withWatchdog(`${system.label} enqueue ${mode} n=${n}`, budgetMs(n), () =>
    withProducer(system, redis, async (p) => {
      await ENQUEUE_MODES[mode](p, Math.min(WARMUP_JOBS, n));
      await redis.control.flushall();
      const before = await commandCounts(redis.control);
      const memBefore = await usedMemory(redis.control);
      const t0 = nowMs();
      await ENQUEUE_MODES[mode](p, n);
      const ms = nowMs() - t0;
      const cmds = await commandsSince(redis.control, before);
      // What the queued jobs hold in Redis (records, lists, events): peers keep what they keep by default.
      const bytesPerJob = ((await usedMemory(redis.control)) - memBefore) / n;
      await redis.control.flushall();
      return { jobsPerSec: n / (ms / 1000), ms, cmdsPerJob: cmds.total / n, bytesPerJob, commands: cmds.byCommand };
    }),
  );
}

/** One worker process drains n pre-filled no-op jobs; first handler start → last completion. */
export function processing(system, redis, n, concurrency, extra = {}) {
  return withWatchdog(`${system.label} processing c=${concurrency} n=${n}`, budgetMs(n), async (signal) => {
    await redis.control.flushall();
    await withProducer(system, redis, (p) => ENQUEUE_MODES.bulk(p, n));
    const before = await commandCounts(redis.control);
    const cpuBefore = await redisCpuUs(redis.control);
    const w = startWorker({ system: system.key, host: redis.host, port: redis.port, concurrency, expected: n, ...extra }, signal);
    try {
      const done = await w.done;
      const redisCpu = (await redisCpuUs(redis.control)) - cpuBefore;
      const cmds = await commandsSince(redis.control, before);
      const ms = done.lastDoneMs - done.firstStartMs;
      return {
        jobsPerSec: n / (ms / 1000),
        ms,
        cmdsPerJob: cmds.total / n,
        redisCpuUsPerJob: redisCpu / n,
        workerCpuUsPerJob: done.cpuUs / n,
        commands: cmds.byCommand,
      };
    } finally {
      await w.stop();
      await redis.control.flushall();
    }
  });
}

/** Sends `count` jobs at `rate`/s to an idle c=1 worker; latency = send → handler start. */
export function latency(system, redis, rate, count) {
  const label = `${system.label} latency ${rate}/s × ${count}`;
  return withWatchdog(label, 20_000 + (count / rate) * 2000, async (signal) => {
    await redis.control.flushall();
    const w = startWorker({ system: system.key, host: redis.host, port: redis.port, concurrency: 1, expected: count, latency: true }, signal);
    try {
      await w.ready;
      await withProducer(system, redis, (p) => sendAtRate(p, rate, count, signal));
      return summarize((await w.done).latenciesMs);
    } finally {
      await w.stop();
      await redis.control.flushall();
    }
  });
}

/** Sends job i at t0 + i/rate (catching up if a tick came late); never more than `count`. */
async function sendAtRate(p, rate, count, signal) {
  const intervalMs = 1000 / rate;
  const sends = [];
  const t0 = nowMs();
  let sent = 0;
  while (sent < count && !signal.aborted) {
    const due = Math.min(count, Math.floor((nowMs() - t0) / intervalMs) + 1);
    while (sent < due) sends.push(p.send({ i: sent++, sentAt: nowMs() }));
    await sleep(Math.max(0, t0 + sent * intervalMs - nowMs()));
  }
  await Promise.all(sends);
}

function summarize(latenciesMs) {
  return {
    count: latenciesMs.length,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    maxMs: percentile(latenciesMs, 100),
    meanMs: latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length,
  };
}
