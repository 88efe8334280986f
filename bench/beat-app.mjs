/** The beat benchmark's app: BENCH_BEAT_ENTRIES entries (default 100), each sending bench.noop every second. */
import { createApp } from '../dist/index.js';

const n = Number(process.env.BENCH_BEAT_ENTRIES || 100);
const beatSchedule = Object.fromEntries(Array.from({ length: n }, (_, i) => [`e${i}`, { task: 'bench.noop', every: '1s', catchUp: 'none' }]));

export const app = createApp({ broker: process.env.TASKQ_BROKER_URL, beatSchedule });
app.task('bench.noop', () => null, { queue: 'bench-beat' });
export default app;
