/**
 * taskq-only figures beside the comparison: processing at c=1 with prefetch off (the default
 * prefetches while tasks are short), at c=50 with task events on (-E; off by default, as Celery's), and what the stricter durability of the embedded Redis costs —
 * enqueue throughput with the AOF fsynced every second (the default) against before every reply.
 */
import { enqueue, processing } from './measure.mjs';
import { startRedis } from './redis-server.mjs';
import { median } from './util.mjs';

export async function measureExtras(taskq, redis, { n, runs, log }) {
  const noPrefetch = [];
  for (let run = 1; run <= runs; run++) {
    const r = await processing(taskq, redis, n, 1, { prefetch: 0 });
    noPrefetch.push(r.jobsPerSec);
    log(`run ${run}/${runs} taskq process c=1 prefetch off: ${Math.round(r.jobsPerSec)} jobs/s`);
  }
  const withEvents = [];
  for (let run = 1; run <= runs; run++) {
    const r = await processing(taskq, redis, n, 50, { taskEvents: true });
    withEvents.push(r.jobsPerSec);
    log(`run ${run}/${runs} taskq process c=50 with task events (-E): ${Math.round(r.jobsPerSec)} jobs/s`);
  }
  const durability = {};
  for (const appendfsync of ['everysec', 'always']) {
    const aof = await startRedis({ appendfsync });
    try {
      const figures = { serial: [], inflight: [] };
      for (let run = 1; run <= runs; run++) {
        for (const mode of ['serial', 'inflight']) {
          const r = await enqueue(taskq, aof, mode, Math.min(n, 10_000));
          figures[mode].push(r.jobsPerSec);
          log(`run ${run}/${runs} taskq enqueue ${mode}, AOF appendfsync ${appendfsync}: ${Math.round(r.jobsPerSec)} jobs/s`);
        }
      }
      durability[appendfsync] = { serial: median(figures.serial), inflight: median(figures.inflight) };
    } finally {
      await aof.stop();
    }
  }
  return { processC1NoPrefetch: median(noPrefetch), processC50TaskEvents: median(withEvents), durability };
}

/** `systems`: the comparison's summary (taskq's defaults, and BullMQ's c=50 when it ran: it always writes its events). */
export function extrasText(extras, systems) {
  const c1WithPrefetch = systems.taskq.processing.c1.jobsPerSec;
  const c50 = systems.taskq.processing.c50.jobsPerSec;
  const bull = systems.bullmq?.processing.c50.jobsPerSec;
  const f = (x) => Math.round(x).toLocaleString('en-US');
  const d = extras.durability;
  return [
    'taskq extras',
    `  process c=1, prefetch off      ${f(extras.processC1NoPrefetch)} jobs/s  (default, prefetching: ${f(c1WithPrefetch)})`,
    `  process c=50, task events (-E) ${f(extras.processC50TaskEvents)} jobs/s  (default, off: ${f(c50)})${bull ? `; ${(extras.processC50TaskEvents / bull).toFixed(2)}× BullMQ` : ''}`,
    `  enqueue serial, AOF everysec   ${f(d.everysec.serial)} jobs/s   always: ${f(d.always.serial)} (${(d.always.serial / d.everysec.serial).toFixed(2)}×)`,
    `  enqueue 100 in flight, AOF     ${f(d.everysec.inflight)} jobs/s   always: ${f(d.always.inflight)} (${(d.always.inflight / d.everysec.inflight).toFixed(2)}×)`,
    '',
  ].join('\n');
}
