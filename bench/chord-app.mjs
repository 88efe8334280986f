/** The chord benchmark's taskq app: a no-op member and a body that counts the values it got. */
import { createApp } from '../dist/index.js';

export const app = createApp({ broker: process.env.TASKQ_BROKER_URL, keyPrefix: process.env.TASKQ_KEY_PREFIX, defaultQueue: 'bench_chord' });
app.task('bench.noop', () => null);
app.task('bench.count', (values) => values.length);
export default app;
