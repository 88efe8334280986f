/**
 * The flagship's periodic upkeep, run by `taskq beat -A dist/app.js` on q_schedule. Only entries whose
 * task exists are scheduled; the others are written down here, with the issue that brings their task,
 * and join the schedule when it lands — beat never sends a task that only pretends to work.
 */
import type { BeatEntrySpec, BeatSchedule } from '../core/beat-spec.js';

/** Scheduled now. */
export const FLAGSHIP_SCHEDULE: BeatSchedule = {
  'stats-snapshot': { task: 'schedule.stats', every: '1m', catchUp: 'none' },
  'evict-cache': { task: 'schedule.evictCache', cron: '0 */5 * * * *', timezone: 'UTC', catchUp: 'none' },
};

/** Defined, waiting for their task (the download / cache issue). */
export const PENDING_ENTRIES: Record<string, BeatEntrySpec & { comesWith: string }> = {
  'sync-aria2': { task: 'schedule.syncAria2', every: '10s', catchUp: 'none', comesWith: 'download/cache: aria2 status sync' },
  'retry-downloads': { task: 'schedule.retryDownloads', every: '5m', comesWith: 'download/cache: retry of failed downloads' },
};
