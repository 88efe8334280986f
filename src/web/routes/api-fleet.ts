/** The fleet over HTTP: nodes alive (heartbeats) and queue lengths. */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../core/app.js';
import { aliveNodes, listQueues, queueStatus } from '../../core/queue-admin.js';

export function fleetRoutes(web: FastifyInstance, app: App): void {
  web.get('/api/workers', async () => ({ workers: await aliveNodes(app) }));
  web.get('/api/queues', async () => {
    const nodes = await aliveNodes(app);
    const queues = await listQueues(app, nodes.flatMap((n) => n.queues ?? []));
    return { queues: await queueStatus(app, queues) };
  });
}
