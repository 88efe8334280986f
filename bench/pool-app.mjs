/** The app the pool benchmark's children load: a no-op and a 1 ms CPU task on queue `bench`. */
import { createApp } from '../dist/index.js';

export const app = createApp({ broker: process.env.TASKQ_BROKER_URL, keyPrefix: process.env.TASKQ_KEY_PREFIX });

app.task('bench.noop', () => null, { queue: 'bench' });

app.task(
  'bench.cpu1ms',
  () => {
    const end = performance.now() + 1;
    while (performance.now() < end) {
      /* busy: 1 ms of CPU */
    }
    return null;
  },
  { queue: 'bench' },
);

export default app;
