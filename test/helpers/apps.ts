/** Test apps: each gets a unique key prefix on the shared test Redis, and is closed after the test. */
import { randomBytes } from 'node:crypto';
import { inject, onTestFinished } from 'vitest';
import { createApp, type App } from '../../src/core/app.js';
import type { AppOptions } from '../../src/core/config.js';
import { WorkerNode, type WorkerNodeOptions } from '../../src/worker/worker-node.js';
import pino from 'pino';
import { QueueConsumer } from '../../src/worker/queue-consumer.js';
import { waitFor } from './wait-for.js';

export function uniquePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/** An app on the test Redis with its own key prefix; closed when the test ends. */
export function testApp(options: AppOptions = {}): App {
  const app = createApp({ broker: inject('redisUrl'), keyPrefix: uniquePrefix(), ...options });
  onTestFinished(() => app.close());
  return app;
}

export const silent = pino({ level: 'silent' });

/** A started worker node in this process; stopped when the test ends. */
export async function startWorker(app: App, options: WorkerNodeOptions = {}): Promise<WorkerNode> {
  const node = new WorkerNode(app, { logger: silent, concurrency: 2, ...options });
  onTestFinished(() => node.stop({ timeoutMs: 2000 }));
  await node.start();
  return node;
}

/** A queue consumer used only for its stall check on `queue` (it never fetches jobs). */
export async function stallChecker(app: App, queue = 'default'): Promise<QueueConsumer> {
  const host = { claim: () => ({ now: 0, later: 0 }), release: () => {}, canWait: () => false, accept: () => {}, pump: () => {}, rateTable: () => '', now: () => Date.now(), taskEvents: () => app.config.events };
  return new QueueConsumer(queue, host, app.keys, app.config, await app.client(), app.redis, silent, 'checker');
}

/**
 * Job `id` of `queue` is taken by a node that then vanishes (its delivery entry stays in `active`,
 * never unmarked), and two stall checks run: the first marks it, the second finds it stalled.
 */
export async function strandAndSweep(app: App, id: string, queue = 'default', token = 'gone'): Promise<void> {
  const client = await app.client();
  await client.lrem(app.keys.queue(queue, 'waiting'), 0, id);
  await client.lpush(app.keys.queue(queue, 'active'), `~${token}~${id}`);
  const checker = await stallChecker(app, queue);
  for (let i = 0; i < 2; i++) {
    await waitFor('the stall-check block to expire', () => client.pttl(app.keys.queue(queue, 'stallBlock')), (ttl) => ttl < 0);
    await checker.checkStalls();
  }
}
