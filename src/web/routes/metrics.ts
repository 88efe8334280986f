/**
 * `/metrics` in Prometheus's text format (prom-client): events by type and task runtimes counted from
 * the live stream; queue depths, nodes online and the cache's size read when scraped.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { App } from '../../core/app.js';
import { aliveNodes, listQueues, queueStatus } from '../../core/queue-admin.js';
import { CacheIndex } from '../../download/cache-index.js';
import type { EventHub } from '../event-hub.js';

export function metricsRoutes(web: FastifyInstance, app: App, hub: EventHub): void {
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
  web.get('/metrics', async (_req, reply) => {
    const nodes = await aliveNodes(app);
    online.set(nodes.length);
    for (const q of await queueStatus(app, await listQueues(app, nodes.flatMap((n) => n.queues ?? [])))) {
      for (const s of ['waiting', 'active', 'delayed', 'dead'] as const) depth.set({ queue: q.queue, state: s }, q[s]);
    }
    const cache = new CacheIndex(await app.client(), app.keys.prefix);
    cacheBytes.set(await cache.totalBytes());
    cacheEntries.set(await cache.count());
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
