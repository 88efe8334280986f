/**
 * taskq adapter: a no-op task `bench.noop` on queue `bench`, with its defaults: results on, task events
 * off (as Celery's worker without -E; `taskEvents: true` is -E).
 */
import { createApp, WorkerNode } from '../../dist/index.js';

const QUEUE = 'bench';

function makeApp({ host, port }, onStart = () => {}) {
  const app = createApp({ broker: `redis://${host}:${port}/0` });
  const task = app.task('bench.noop', (payload) => {
    onStart(payload);
    return null;
  }, { queue: QUEUE });
  return { app, task };
}

export async function producer(redis) {
  const { app, task } = makeApp(redis);
  await app.client();
  return {
    send: (payload) => task.delay(payload),
    sendBulk: (payloads) => task.applyBulk(payloads.map((p) => [p])),
    close: () => app.close(),
  };
}

export async function worker(redis, { concurrency, prefetch, taskEvents, onStart, onDone }) {
  const { app } = makeApp(redis, onStart);
  const node = new WorkerNode(app, { queues: [QUEUE], concurrency, ...(prefetch === undefined ? {} : { prefetch }), ...(taskEvents ? { taskEvents } : {}) });
  node.on('job-finished', () => onDone());
  await node.start();
  return {
    stop: async () => {
      await node.stop();
      await app.close();
    },
  };
}
