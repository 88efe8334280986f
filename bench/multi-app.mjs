/**
 * The app of the multi benchmark: the flagship's four-node layout (its queues), plus a task that
 * sleeps and stamps its start and end in Redis, so stopwait's return can be compared with it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '../dist/index.js';

export const app = createApp({ broker: process.env.TASKQ_BROKER_URL });

app.task('bench.sleep', async (ms, key) => {
  const client = await app.client();
  await client.set(`${key}:start`, String(Date.now()));
  await sleep(ms);
  await client.set(`${key}:end`, String(Date.now()));
  return 'ok';
}, { queue: 'q_schedule' });

for (const queue of ['q_pcap', 'q_analyze', 'q_download']) app.task(`bench.noop.${queue}`, () => null, { queue });

export default app;
