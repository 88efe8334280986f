/** BullMQ adapter (ioredis from node_modules), BullMQ defaults: completed jobs kept, events stream on. */
import { Queue, Worker } from 'bullmq';

const QUEUE = 'bench';

export async function producer({ host, port }) {
  const queue = new Queue(QUEUE, { connection: { host, port } });
  await queue.waitUntilReady();
  return {
    send: (payload) => queue.add('noop', payload),
    sendBulk: (payloads) => queue.addBulk(payloads.map((data) => ({ name: 'noop', data }))),
    close: () => queue.close(),
  };
}

export async function worker({ host, port }, { concurrency, onStart, onDone }) {
  const handler = async (job) => {
    onStart(job.data);
    return null;
  };
  const w = new Worker(QUEUE, handler, { connection: { host, port }, concurrency, autorun: false });
  w.on('error', (err) => process.emitWarning(`BullMQ worker: ${err.message}`));
  w.on('completed', () => onDone());
  await w.waitUntilReady();
  const running = w.run();
  return {
    stop: async () => {
      await w.close();
      await running;
    },
  };
}
