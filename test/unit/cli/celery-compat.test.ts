import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { hoistGlobalOptions } from '../../../src/cli/celery-compat.js';
import { workerNodeOptions, type WorkerCliOptions } from '../../../src/cli/worker-node-options.js';

describe("Celery's spellings", () => {
  it('moves -A / -b / --prefix given before the subcommand after it', () => {
    expect(hoistGlobalOptions(['-A', 'app.js', 'worker', '-c', '2'])).toEqual(['worker', '-A', 'app.js', '-c', '2']);
    expect(hoistGlobalOptions(['--app=app.js', '-b', 'redis://x', 'call', 'add'])).toEqual(['call', '--app=app.js', '-b', 'redis://x', 'add']);
    expect(hoistGlobalOptions(['worker', '-A', 'app.js'])).toEqual(['worker', '-A', 'app.js']);
    expect(hoistGlobalOptions(['--version'])).toEqual(['--version']);
    expect(hoistGlobalOptions(['-A', 'app.js'])).toEqual(['-A', 'app.js']); // no subcommand: left for commander to report
  });

  it('puts them after the subcommand of a command that has some (dead ls, multi start), not between', () => {
    const nested = new Set(['dead', 'multi', 'beat']);
    expect(hoistGlobalOptions(['-A', 'app.js', 'dead', 'ls', '--json'], nested)).toEqual(['dead', 'ls', '-A', 'app.js', '--json']);
    expect(hoistGlobalOptions(['-A', 'app.js', 'multi', 'start', 'w1'], nested)).toEqual(['multi', 'start', '-A', 'app.js', 'w1']);
    expect(hoistGlobalOptions(['-A', 'app.js', 'beat', '-l', 'info'], nested)).toEqual(['beat', '-A', 'app.js', '-l', 'info']);
    expect(hoistGlobalOptions(['-A', 'app.js', 'inspect', 'ping'], nested)).toEqual(['inspect', '-A', 'app.js', 'ping']);
  });

  const base: WorkerCliOptions = { concurrency: 4, loglevel: 'info', shutdownTimeout: 30, pool: 'async' };
  const extra = { name: 'w@h', logger: pino({ level: 'silent' }), cwd: '/', concurrencyGiven: false, humanChildLogs: false };

  it('-P solo is the async pool with one slot, unless -c says otherwise; prefork is processes', () => {
    expect(workerNodeOptions({ ...base, pool: 'solo' }, extra)).toMatchObject({ pool: 'async', concurrency: 1 });
    expect(workerNodeOptions({ ...base, pool: 'solo' }, { ...extra, concurrencyGiven: true })).toMatchObject({ pool: 'async', concurrency: 4 });
  });

  it('--prefetch-multiplier N holds N-1 jobs per slot; -O fair holds none; neither: adaptive', () => {
    expect(workerNodeOptions({ ...base, prefetchMultiplier: 4 }, extra).prefetch).toBe(12);
    expect(workerNodeOptions({ ...base, prefetchMultiplier: 1 }, extra).prefetch).toBe(0);
    expect(workerNodeOptions({ ...base, prefetchMultiplier: 4, optimization: 'fair' }, extra).prefetch).toBe(0);
    expect(workerNodeOptions(base, extra).prefetch).toBeUndefined();
  });

  it("-E turns task events on; without it the app's default (TASKQ_TASK_EVENTS) stands", () => {
    expect(workerNodeOptions({ ...base, taskEvents: true }, extra).taskEvents).toBe(true);
    expect(workerNodeOptions(base, extra)).not.toHaveProperty('taskEvents');
  });
});
