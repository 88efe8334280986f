/** The shapes a worker node is configured and reported with. */
import type { Logger } from 'pino';
import type { Executor, PoolKind } from './executor.js';
import type { App } from '../core/app.js';
import type { Redis } from '../broker/redis-factory.js';
import type { RateTable } from './rate-table.js';
import type { RedisClock } from './redis-clock.js';
import type { ControlListener } from './control-listener.js';
import type { TaskInfo } from '../core/control-protocol.js';
import type { QueueConsumer, TakenJob } from './queue-consumer.js';

export interface WorkerNodeOptions {
  /** Queues to consume (default: every queue the app's tasks route to). */
  queues?: string[];
  /** Jobs run at once on this node (default 4). */
  concurrency?: number;
  /** Node name, `name@host` (default `worker<pid>@<hostname>`). */
  name?: string;
  /** Root logger (default: warnings and errors to stderr). */
  logger?: Logger;
  /** Where the app came from, shown in unknown-task errors. */
  appOrigin?: string;
  /** Warm shutdown waits this long for running jobs before aborting them (ms). */
  shutdownTimeoutMs?: number;
  /** Hard time limit of every task that sets none (ms). */
  timeLimitMs?: number;
  /** Soft time limit of every task that sets none (ms). */
  softTimeLimitMs?: number;
  /** Where task code runs: `async` (this event loop, default), `threads` or `processes` (killable children). */
  pool?: PoolKind;
  /** The app's module file: the threads and processes pools load it in each child. */
  appModule?: string;
  /** Recycle a pool child after this many jobs. */
  maxTasksPerChild?: number;
  /** Recycle a pool child when, after a job, it uses more memory than this (KiB; a thread's heap, a process's RSS). */
  maxMemoryPerChildKb?: number;
  /** Grow the pool up to `max` slots while there is a backlog, shrink to `min` when idle (Celery's --autoscale). */
  autoscale?: { max: number; min: number };
  /**
   * Jobs a node may hold beyond its slots (prefetched, announced task-received, started when a slot
   * frees). Default: as many as its slots while tasks average under 5 ms, none otherwise.
   */
  prefetch?: number;
  /**
   * Write task events (Celery's `-E`): task-received, -started, -succeeded, -failed, -retried,
   * -revoked and -progress. Default: the app's `taskEvents` (off). Remote control switches it.
   */
  taskEvents?: boolean;
  /** Outcome writes failing this long make the node stop taking work until they succeed (ms, default 30 s). */
  outcomeTroubleMs?: number;
  /** Log level and file for pool children (default: the node's level, stderr), and whether their stderr lines are for a person. */
  childLog?: { level: string; file?: string | undefined; human?: boolean };
}

export interface Running {
  job: TakenJob;
  consumer: QueueConsumer;
  /** Created when the task first reads `ctx.signal` (most never do; it is per-job garbage otherwise). */
  controller: AbortController | undefined;
  /** Set when shutdown gave up on the job: its late outcome is not recorded. */
  abandoned: boolean;
  /** Its outcome was handed to the recorder. */
  recorded?: boolean;
  /** Set when a warm shutdown's timeout aborted it: unless it succeeded, it goes back to its queue. */
  shutdown: boolean;
  /** Set when the job was revoked with terminate while running: it is recorded REVOKED. */
  revoked: boolean;
  /** Stops the job's code for good (threads / processes pools). */
  kill?: (reason: Error) => void;
  /** Outcome recorded at the hard time limit; the handler still runs (never re-queued at shutdown). */
  lingering?: boolean;
}

export interface WorkerStats {
  active: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  /** Outcomes not recorded because their delivery had lost the job (a stall check re-delivered it). */
  lost: number;
}

/** One delivery a node runs or holds, as `inspect` and the USR1 dump show it. */
export type JobInfo = TaskInfo;

/** What a node runs and holds now. */
export interface JobsSnapshot {
  /** Running now. */
  active: JobInfo[];
  /** Taken beyond the free slots (prefetched), waiting for one. */
  reserved: JobInfo[];
  /** Waiting for their rate-limit slot. */
  scheduled: JobInfo[];
}

/** What a Dispatcher works with (worker/dispatcher.ts). */
export interface DispatcherDeps {
  app: App;
  client: Redis;
  executor: Executor;
  rates: RateTable;
  nodeName: string;
  log: Logger;
  options: WorkerNodeOptions;
  stats: WorkerStats;
  /** The node's slots now (autoscale changes it). */
  concurrency: () => number;
  consumers: () => readonly QueueConsumer[];
  /** Redis's time as this node reads it. */
  clock: RedisClock;
  /** Per-task time limits set by remote control. */
  limitOverrides: ReadonlyMap<string, Pick<WorkerNodeOptions, 'timeLimitMs' | 'softTimeLimitMs'>>;
  /** Whether the node writes task events now (its -E, switched by enable_events / disable_events). */
  taskEvents: () => boolean;
  /** The control subscription (revokes), once listening. */
  control: () => ControlListener | undefined;
}
