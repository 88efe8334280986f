/** The executor a node's options ask for: this event loop (async), or a pool of warm children. */
import type { Logger } from 'pino';
import { OptionError } from '../../errors.js';
import { AsyncExecutor, type Executor } from '../executor.js';
import type { WorkerNodeOptions } from '../worker-types.js';
import { ChildPool } from './child-pool.js';

export async function openExecutor(options: WorkerNodeOptions, node: string, size: number, log: Logger): Promise<Executor> {
  const kind = options.pool ?? 'async';
  if (kind === 'async') return new AsyncExecutor();
  if (!options.appModule) {
    throw new OptionError(`the ${kind} pool loads the app in each child: give the app's module (-A, or the appModule option)`);
  }
  const pool = new ChildPool({
    kind,
    size,
    appModule: options.appModule,
    node,
    log,
    logLevel: options.childLog?.level ?? log.level,
    logfile: options.childLog?.file,
    humanLogs: options.childLog?.human ?? false,
    maxTasksPerChild: options.maxTasksPerChild,
    maxMemoryKb: options.maxMemoryPerChildKb,
  });
  await pool.open();
  return pool;
}
