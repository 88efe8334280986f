/**
 * The flagship app: a local video cache accelerator. A capture node sniffs traffic (q_pcap), analyze
 * workers spot video URLs (q_analyze), download workers drive aria2 (q_download), and beat runs
 * periodic jobs (q_schedule; beat/flagship-schedule.ts). The capture, analyze and download tasks
 * arrive with their own issues; this module already fixes the queues, the routes and the node layout
 * they plug into.
 */
import { createApp } from './core/app.js';
import { FLAGSHIP_SCHEDULE } from './beat/flagship-schedule.js';
import { registerStats } from './tasks/schedule/stats.js';
import { registerCapture } from './tasks/capture/run.js';
import { registerAnalyze } from './tasks/analyze/observations.js';
import { registerDownload } from './tasks/download/fetch.js';
import { registerEvictCache } from './tasks/schedule/evict-cache.js';
import { registerThumbnail } from './tasks/download/thumbnail.js';

export const QUEUES = ['q_pcap', 'q_analyze', 'q_download', 'q_schedule'];

export const app = createApp({
  broker: process.env.TASKQ_BROKER_URL,
  routes: {
    'capture.*': 'q_pcap',
    'analyze.*': 'q_analyze',
    'download.*': 'q_download',
    'schedule.*': 'q_schedule',
  },
  beatSchedule: FLAGSHIP_SCHEDULE,
});

registerStats(app, QUEUES);
registerCapture(app);
registerAnalyze(app);
registerDownload(app);
registerEvictCache(app);
registerThumbnail(app);

/** Liveness probe of the whole pipeline: `taskq call schedule.ping --wait`. */
export const ping = app.task('schedule.ping', (note?: string) => ({ pong: true, note: note ?? null, at: new Date().toISOString(), pid: process.pid }));

export default app;
