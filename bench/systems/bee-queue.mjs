/**
 * Raw bee-queue 2.0.0 on its own node_redis 3 clients (options, not a client, are passed), with its
 * defaults for the worker: job events published, finished jobs kept.
 */
import BeeQueue from 'bee-queue';

const QUEUE = 'bench';

export async function producer({ host, port }) {
  const queue = new BeeQueue(QUEUE, { redis: { host, port }, isWorker: false, getEvents: false, storeJobs: false });
  await queue.ready();
  return {
    send: (payload) => queue.createJob(payload).save(),
    sendBulk: async (payloads) => {
      const errors = await queue.saveAll(payloads.map((p) => queue.createJob(p)));
      if (errors.size) throw new Error(`bee-queue saveAll: ${errors.size} jobs failed: ${[...errors.values()][0].message}`);
    },
    close: () => queue.close(),
  };
}

export async function worker({ host, port }, { concurrency, onStart, onDone }) {
  const queue = new BeeQueue(QUEUE, { redis: { host, port }, getEvents: false });
  queue.on('error', (err) => process.emitWarning(`bee-queue worker: ${err.message}`));
  queue.on('succeeded', () => onDone());
  await queue.ready();
  queue.process(concurrency, async (job) => {
    onStart(job.data);
    return null;
  });
  return { stop: () => queue.close(5000) };
}
