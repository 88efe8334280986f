/**
 * From `taskq worker`'s command-line options to a WorkerNode's: including Celery's spellings —
 * `-P solo` (the async pool with one slot unless -c says otherwise), `--prefetch-multiplier N` (Celery
 * reserves N tasks per slot: N - 1 per slot beyond the running one), `-O fair` (nothing held beyond
 * the free slots).
 */
import { resolveAppPath } from '../core/load-app.js';
import { OptionError } from '../errors.js';
import type { PoolKind } from '../worker/executor.js';
import type { WorkerNodeOptions } from '../worker/worker-types.js';
import type { Logger } from 'pino';

export interface WorkerCliOptions {
  app?: string;
  queues?: string[];
  concurrency: number;
  loglevel: string;
  logfile?: string;
  shutdownTimeout: number;
  timeLimit?: number;
  softTimeLimit?: number;
  pool: PoolKind | 'solo';
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  autoscale?: { max: number; min: number };
  prefetchMultiplier?: number;
  optimization?: 'fair' | 'default';
  /** -E: task events on (absent: the app's default). */
  taskEvents?: boolean;
}

/** How many jobs the node may hold beyond its slots, or undefined (adaptive: the default). */
function prefetchOf(options: WorkerCliOptions, concurrency: number): number | undefined {
  if (options.optimization === 'fair') return 0;
  const m = options.prefetchMultiplier;
  if (m === undefined) return undefined;
  if (m < 1) throw new OptionError('--prefetch-multiplier must be 1 or more (Celery\'s 0, unlimited, would let one node take a whole queue)');
  return (m - 1) * concurrency;
}

export function workerNodeOptions(
  options: WorkerCliOptions,
  extra: { name: string; logger: Logger; cwd: string; concurrencyGiven: boolean; humanChildLogs: boolean },
): WorkerNodeOptions {
  const concurrency = options.pool === 'solo' && !extra.concurrencyGiven ? 1 : options.concurrency;
  const prefetch = prefetchOf(options, concurrency);
  return {
    queues: options.queues,
    concurrency,
    name: extra.name,
    logger: extra.logger,
    appOrigin: options.app ? `app ${options.app}` : 'a bare app without -A',
    shutdownTimeoutMs: options.shutdownTimeout * 1000,
    ...(options.timeLimit !== undefined ? { timeLimitMs: options.timeLimit * 1000 } : {}),
    ...(options.softTimeLimit !== undefined ? { softTimeLimitMs: options.softTimeLimit * 1000 } : {}),
    pool: options.pool === 'solo' ? 'async' : options.pool,
    ...(options.app ? { appModule: resolveAppPath(options.app, extra.cwd) } : {}),
    ...(options.maxTasksPerChild !== undefined ? { maxTasksPerChild: options.maxTasksPerChild } : {}),
    ...(options.maxMemoryPerChild !== undefined ? { maxMemoryPerChildKb: options.maxMemoryPerChild } : {}),
    childLog: { level: options.loglevel, file: options.logfile, human: extra.humanChildLogs },
    ...(options.autoscale ? { autoscale: options.autoscale } : {}),
    ...(prefetch !== undefined ? { prefetch } : {}),
    ...(options.taskEvents ? { taskEvents: true } : {}),
  };
}
