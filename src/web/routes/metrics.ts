/**
 * `/metrics` in Prometheus's text format (prom-client): events by type and task runtimes counted from
 * the live stream; queue depths, nodes online, the cache's size and hits, and each download node's
 * aria2 speed and downloads read when scraped.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { App } from '../../core/app.js';
import { aliveNodes, listQueues, queueStatus } from '../../core/queue-admin.js';
import { CacheIndex } from '../../download/cache-index.js';
import type { Aria2Registry } from '../aria2-registry.js';
import type { EventHub } from '../event-hub.js';

export function metricsRoutes(web: FastifyInstance, app: App, hub: EventHub, aria2: Aria2Registry): void {
  const registry = new Registry();
  const events = new Counter({ name: 'taskq_events_total', help: 'Events read from the stream, by type', labelNames: ['type'], registers: [registry] });
  const runtime = new Histogram({ name: 'taskq_task_runtime_seconds', help: 'Task run times, by task and outcome', labelNames: ['task', 'outcome'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300], registers: [registry] });
  hub.subscribe((e) => {
    events.inc({ type: e.type });
    const ms = e.data.runtimeMs;
    if (typeof ms === 'number' && (e.type === 'task-succeeded' || e.type === 'task-failed')) runtime.observe({ task: String(e.data.task ?? '?'), outcome: e.type.slice(5) }, ms / 1000);
  });
  const depth = new Gauge({ name: 'taskq_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: [registry] });
  const online = new Gauge({ name: 'taskq_workers_online', help: 'Worker nodes with a recent heartbeat', registers: [registry] });
  const cacheBytes = new Gauge({ name: 'taskq_cache_bytes', help: 'Bytes in the video cache', registers: [registry] });
  const cacheEntries = new Gauge({ name: 'taskq_cache_entries', help: 'Entries in the video cache', registers: [registry] });
  const cacheHits = new Gauge({ name: 'taskq_cache_hits', help: 'Hits the cache server has served (a counter kept in Redis)', registers: [registry] });
  const speed = new Gauge({ name: 'taskq_aria2_download_bytes_per_second', help: 'aria2 download speed, per download node', labelNames: ['node'], registers: [registry] });
  const downloads = new Gauge({ name: 'taskq_aria2_downloads', help: 'aria2 downloads per node and state', labelNames: ['node', 'state'], registers: [registry] });
  web.get('/metrics', async (_req, reply) => {
    const nodes = await aliveNodes(app);
    online.set(nodes.length);
    depth.reset(); // queues gone since the last scrape are not exported any more
    for (const q of await queueStatus(app, await listQueues(app, nodes.flatMap((n) => n.queues ?? [])))) {
      for (const s of ['waiting', 'active', 'delayed', 'dead'] as const) depth.set({ queue: q.queue, state: s }, q[s]);
    }
    const cache = new CacheIndex(await app.client(), app.keys.prefix);
    cacheBytes.set(await cache.totalBytes());
    cacheEntries.set(await cache.count());
    cacheHits.set(await cache.hitsTotal());
    speed.reset();
    downloads.reset();
    await Promise.all(
      aria2.endpoints().map(async ({ name, client }) => {
        const stat = await client.getGlobalStat().catch(() => undefined);
        if (!stat) return;
        speed.set({ node: name }, Number(stat.downloadSpeed));
        for (const [state, n] of [['active', stat.numActive], ['waiting', stat.numWaiting], ['stopped', stat.numStopped]] as const) downloads.set({ node: name, state }, Number(n));
      }),
    );
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
