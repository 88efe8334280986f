/** The shape of an app's periodic entries (`createApp({ beatSchedule })`); beat/schedule.ts checks and runs them. */

export type CatchUp = 'none' | 'latest' | 'all';

/** An entry as an app or `taskq beat add` gives it (Celery's beat_schedule). */
export interface BeatEntrySpec {
  task: string;
  /** Interval: ms, or '30s', '5m', '1h', '1d', '1500ms' (at least 1 s). */
  every?: number | string;
  /** node-cron expression, seconds optional. */
  cron?: string;
  /** IANA timezone of `cron` (default: UTC, so every host agrees). */
  timezone?: string;
  args?: unknown[];
  /** Keyword arguments (Celery's `kwargs`). */
  kwargs?: Record<string, unknown>;
  /** As applyAsync takes them (queue, priority, expires, …); `jobId` is beat's own. */
  options?: Record<string, unknown>;
  /** Slots missed while no beat ran: none, the latest (default) or all (at most 100). */
  catchUp?: CatchUp;
}

export type BeatSchedule = Record<string, BeatEntrySpec>;
