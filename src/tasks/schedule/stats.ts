/**
 * `schedule.stats`: a snapshot of the pipeline — each flagship queue's waiting / active / delayed /
 * dead counts and the worker nodes alive — kept in Redis for the web UI (a day of minutes, newest
 * first): <prefix>:stats:snapshots LIST of JSON.
 */
import type { App } from '../../core/app.js';
import { aliveNodes, queueStatus } from '../../core/queue-admin.js';

/** Snapshots kept: a day at one a minute. */
export const SNAPSHOTS_KEPT = 1440;

export interface StatsSnapshot {
  at: string;
  queues: Array<{ queue: string; waiting: number; active: number; delayed: number; dead: number }>;
  nodes: Array<{ node: string; queues: string[] | undefined; active: number | undefined; processed: number | undefined }>;
}

export function registerStats(app: App, queues: string[]): void {
  app.task('schedule.stats', async (): Promise<StatsSnapshot> => {
    const [q, nodes] = await Promise.all([queueStatus(app, queues), aliveNodes(app)]);
    const snapshot: StatsSnapshot = {
      at: new Date().toISOString(),
      queues: q.map(({ queue, waiting, active, delayed, dead }) => ({ queue, waiting, active, delayed, dead })),
      nodes: nodes.map((n) => ({ node: n.node, queues: n.queues, active: n.active, processed: n.processed })),
    };
    const client = await app.client();
    const key = `${app.keys.prefix}:stats:snapshots`;
    await client.multi().lpush(key, JSON.stringify(snapshot)).ltrim(key, 0, SNAPSHOTS_KEPT - 1).exec();
    return snapshot;
  });
}
