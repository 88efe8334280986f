/**
 * Starts a worker node as a daemon: its own session (setsid, so a terminal's hang-up or Ctrl-C never
 * reaches it), stdin from /dev/null, stdout and stderr appended to its log file (or /dev/null), its
 * own working directory. Unlike Celery's `--detach`, which returns as soon as it has forked, this
 * resolves only once the node says over IPC that it consumes (`{type: 'ready'}`); a node that dies
 * first rejects with its reason (the error it sent, else its log file's last lines).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaults } from '../defaults.js';
import { ExitCode, TaskqError } from '../errors.js';
import { expandIndex } from '../worker/pool/log-file.js';

/** The taskq launcher every node process runs. */
export const taskqBin = fileURLToPath(new URL('../../bin/taskq', import.meta.url));

/** Set in a daemonized node's environment: it reports start failures to its starter over IPC. */
export const DETACHED_ENV = 'TASKQ_DETACHED';

export interface DaemonSpec {
  /** `taskq worker` arguments (without --detach). */
  argv: string[];
  /** Log file template (%I expanded for the main process); undefined = /dev/null. */
  logfile?: string | undefined;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv;
  uid?: number | undefined;
  gid?: number | undefined;
  readyTimeoutMs?: number;
}

export interface StartedDaemon {
  pid: number;
  node: string;
}

/** Opens the node's log for appending (creating its folder), or throws TASKQ_CANT_CREATE naming it. */
function openLog(template: string | undefined): number | 'ignore' {
  if (!template) return 'ignore';
  const file = expandIndex(template, 0);
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a', 0o644);
  } catch (cause) {
    throw new TaskqError('TASKQ_CANT_CREATE', `cannot open the log file ${file}: ${(cause as Error).message}. Create the folder with write access, or pass another --logfile.`, {
      cause,
      exitCode: ExitCode.cantCreate,
    });
  }
}

/** The last lines of the node's log file, if it has one. */
export function logTail(template: string | undefined, lines = 15): string {
  if (!template) return '';
  try {
    return readFileSync(expandIndex(template, 0), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts the node detached; resolves once it consumes, rejects (TASKQ_NODE_START_FAILED) if it does not. */
export function startDaemon(spec: DaemonSpec): Promise<StartedDaemon> {
  const log = openLog(spec.logfile);
  const child = spawn(process.execPath, [taskqBin, 'worker', ...spec.argv], {
    detached: true,
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, [DETACHED_ENV]: '1' },
    stdio: ['ignore', log, log, 'ipc'],
    ...(spec.uid === undefined ? {} : { uid: spec.uid }),
    ...(spec.gid === undefined ? {} : { gid: spec.gid }),
  });
  if (typeof log === 'number') closeSync(log);
  const timeoutMs = spec.readyTimeoutMs ?? defaults.nodeReadyTimeoutMs;
  return new Promise((resolve, reject) => {
    let reason = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      const detail = (reason || logTail(spec.logfile)).trim();
      reject(new TaskqError('TASKQ_NODE_START_FAILED', `${why}${detail ? `:\n${detail}` : ''}`, { exitCode: ExitCode.software }));
    };
    const timer = setTimeout(() => {
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      fail(`did not report that it consumes within ${timeoutMs / 1000} s (killed)`);
    }, timeoutMs);
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    child.on('message', (msg: { type?: string; message?: string; node?: string }) => {
      if (msg?.type === 'failed') reason += msg.message ?? '';
      if (msg?.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.disconnect();
      child.unref();
      resolve({ pid: child.pid as number, node: msg.node ?? '' });
    });
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it consumed`));
  });
}
