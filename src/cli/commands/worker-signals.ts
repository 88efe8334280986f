/**
 * A worker node's signals (Celery's, plus what its operators asked for):
 *   TERM, INT    warm shutdown: stop taking, finish running jobs (a second INT: cold)
 *   QUIT         cold shutdown: running jobs go back to their queues at once, exit 1
 *   HUP          warm restart in place: drain as TERM, then re-execute the same command line in the
 *                same pid (native execve): fresh code and config, the pidfile still right — on a
 *                terminal too (Celery dies there)
 *   USR1         log what runs and what is held, with the node's counters
 *   USR2         reopen log files (the node's and its pool children's), for logrotate
 */
import type { Logger } from 'pino';
import type { WorkerNode } from '../../worker/worker-node.js';
import { nativeHelper } from '../../worker/native.js';

export interface SignalOutcome {
  cold: boolean;
  /** HUP: re-execute once stopped. */
  restart: boolean;
}

export interface WorkerSignals {
  readonly outcome: SignalOutcome;
  dispose(): void;
}

export function handleWorkerSignals(node: WorkerNode, log: Logger, shutdownTimeoutMs: number, reopenLog: () => void): WorkerSignals {
  const outcome: SignalOutcome = { cold: false, restart: false };
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    outcome.cold ||= signal === 'SIGQUIT' || (signal === 'SIGINT' && stopping);
    log.info({ signal, cold: outcome.cold }, outcome.cold ? 'cold shutdown' : 'warm shutdown: finishing running jobs');
    stopping = true;
    void node.stop({ timeoutMs: outcome.cold ? 0 : shutdownTimeoutMs });
  };
  const restart = (): void => {
    if (stopping) return void log.warn('HUP ignored: the node is already stopping');
    try {
      nativeHelper();
    } catch (err) {
      return void log.error({ err }, `HUP ignored: cannot restart in place: ${(err as Error).message}`);
    }
    outcome.restart = true;
    stopping = true;
    log.info({ signal: 'SIGHUP' }, 'warm restart in place: finishing running jobs, then re-executing (same pid)');
    void node.stop({ timeoutMs: shutdownTimeoutMs });
  };
  const dump = (): void => {
    const jobs = node.jobs();
    log.info(
      { signal: 'SIGUSR1', node: node.name, queues: node.queues, concurrency: node.concurrency, stats: { ...node.stats }, ...jobs },
      `state dump: ${jobs.active.length} running, ${jobs.reserved.length} reserved, ${jobs.scheduled.length} waiting for a rate slot`,
    );
  };
  const reopen = (): void => {
    reopenLog();
    node.reopenLogs();
    log.info({ signal: 'SIGUSR2' }, 'log files reopened');
  };
  const handlers: Array<[NodeJS.Signals, (s: NodeJS.Signals) => void]> = [
    ['SIGTERM', stop],
    ['SIGINT', stop],
    ['SIGQUIT', stop],
    ['SIGHUP', restart],
    ['SIGUSR1', dump],
    ['SIGUSR2', reopen],
  ];
  for (const [s, fn] of handlers) process.on(s, fn);
  return { outcome, dispose: () => handlers.forEach(([s, fn]) => process.off(s, fn)) };
}
