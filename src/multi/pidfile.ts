/**
 * Pidfiles: `<pid>\n`, created with O_CREAT|O_EXCL so two nodes cannot both hold one.
 * A pidfile is stale — and silently replaced — when its pid is not running, when it is unreadable,
 * or when the pid now belongs to a process that is not taskq (pids are reused, e.g. in containers;
 * Celery's pidfiles block start forever then).
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, TaskqError } from '../errors.js';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function looksLikeTaskq(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('taskq');
  } catch {
    return true; // no /proc: assume the worst (a live pid is a holder)
  }
}

/** Reads the pid in a pidfile; undefined if missing or not a pid. */
export function readPidfile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Creates the pidfile for this process; throws TASKQ_PIDFILE_LOCKED (exit 73) if a live node holds it. */
export function acquirePidfile(path: string, pid = process.pid): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (cause) {
    throw new TaskqError('TASKQ_CANT_CREATE', `cannot create the pidfile folder ${dirname(path)}: ${(cause as Error).message}`, {
      cause,
      exitCode: ExitCode.cantCreate,
    });
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TaskqError('TASKQ_CANT_CREATE', `cannot create pidfile ${path}: ${(err as Error).message}`, {
          cause: err,
          exitCode: ExitCode.cantCreate,
        });
      }
      const holder = readPidfile(path);
      if (holder !== undefined && holder !== pid && isRunning(holder) && looksLikeTaskq(holder)) {
        throw new TaskqError(
          'TASKQ_PIDFILE_LOCKED',
          `pidfile ${path} is held by running process ${holder}: another node with this pidfile is up. ` +
            'Stop it first, or give this node another --pidfile.',
          { exitCode: ExitCode.cantCreate },
        );
      }
      rmSync(path, { force: true }); // stale: dead pid, garbage, a non-taskq process, or ourselves
    }
  }
  throw new TaskqError('TASKQ_CANT_CREATE', `cannot create pidfile ${path}: it keeps reappearing`, { exitCode: ExitCode.cantCreate });
}

/** Removes the pidfile if it still names this process. */
export function releasePidfile(path: string, pid = process.pid): void {
  if (readPidfile(path) === pid) rmSync(path, { force: true });
}
