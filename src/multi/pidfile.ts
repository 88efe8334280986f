/**
 * Pidfiles: `<pid>\n`, created with O_CREAT|O_EXCL so two nodes cannot both hold one.
 * A pidfile is stale — and silently replaced — when its pid is not running, when it is unreadable,
 * or when the pid now belongs to another process (pids are reused, e.g. in containers; Celery's
 * pidfiles block start forever then): see process-identity.ts.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ExitCode, TaskqError } from '../errors.js';
import { pidfileHolderState } from './process-identity.js';

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

/** The pid of the live node holding `path`, if one does (not a dead or reused pid). */
export function livePidfileHolder(path: string): number | undefined {
  const pid = readPidfile(path);
  return pid !== undefined && pidfileHolderState(pid, path) === 'running' ? pid : undefined;
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
      const holder = livePidfileHolder(path);
      if (holder !== undefined && holder !== pid) {
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
