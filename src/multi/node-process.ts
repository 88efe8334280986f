/**
 * Starts a worker node process — the one mechanism under `taskq multi`, `worker --detach` and
 * `taskq up`. Resolves only once the node says over IPC that it consumes (`{type: 'ready'}`), unlike
 * Celery's `--detach`, which returns as soon as it has forked; a node that dies first rejects with
 * its reason (the error it sent, else its log file's last lines).
 *   detached (a daemon): its own session (setsid: a terminal's hang-up or Ctrl-C never reaches it),
 *     stdin from /dev/null, stdout and stderr appended to its log file (or /dev/null);
 *   attached (`taskq up`): a child in this process group; its stderr is kept for the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fchownSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaults } from '../defaults.js';
import { ExitCode, TaskqError } from '../errors.js';
import { expandIndex } from '../worker/pool/log-file.js';

/** The taskq launcher every node process runs. */
export const taskqBin = fileURLToPath(new URL('../../bin/taskq', import.meta.url));

/** Set in a daemonized node's environment: it reports start failures to its starter over IPC. */
export const DETACHED_ENV = 'TASKQ_DETACHED';
/** Set for an attached node (taskq up): the pid whose death should SIGTERM it (cli/bin.ts). */
export const PARENT_DEATH_ENV = 'TASKQ_PARENT_DEATH';

export interface NodeProcessSpec {
  /** `taskq worker` arguments (without --detach). */
  argv: string[];
  /** Log file template (%I expanded for the main process); undefined = /dev/null. */
  logfile?: string | undefined;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** The user the node drops to (its own --uid / --gid): its log file is made its own. */
  uid?: number | undefined;
  gid?: number | undefined;
  readyTimeoutMs?: number;
  /** A daemon (default) or a child of this process. */
  detached?: boolean;
  /** What it runs: a worker node (default), a beat, or a service (`cache`, `demo`; up-layout.ts). */
  command?: string;
}

export interface StartedNode {
  pid: number;
  node: string;
  child: ChildProcess;
  /** What an attached node printed on stderr (banner, early errors; first 64 KiB). */
  output: () => string;
  /** The URL a service said it serves on. */
  url?: string;
}

/** Opens the node's log for appending (creating its folder), or throws TASKQ_CANT_CREATE naming it. */
function openLog(template: string | undefined, owner: { uid?: number | undefined; gid?: number | undefined }): number | 'ignore' {
  if (!template) return 'ignore';
  const file = expandIndex(template, 0);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(file, 'a', 0o644);
    // A node that runs as another user (--uid) writes its own log through pino too.
    if (owner.uid !== undefined || owner.gid !== undefined) fchownSync(fd, owner.uid ?? -1, owner.gid ?? -1);
    return fd;
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

/** Starts the node; resolves once it consumes, rejects (TASKQ_NODE_START_FAILED) if it does not. */
export function startNodeProcess(spec: NodeProcessSpec): Promise<StartedNode> {
  const detached = spec.detached ?? true;
  const log = detached ? openLog(spec.logfile, spec) : 'ignore';
  const child = spawn(process.execPath, [taskqBin, spec.command ?? 'worker', ...spec.argv], {
    detached,
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, [DETACHED_ENV]: '1', ...(detached ? {} : { [PARENT_DEATH_ENV]: String(process.pid) }) },
    stdio: ['ignore', log, detached ? log : 'pipe', 'ipc'],
  });
  if (typeof log === 'number') closeSync(log);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (output.length < 64 * 1024) output += chunk.toString();
  });
  const timeoutMs = spec.readyTimeoutMs ?? defaults.nodeReadyTimeoutMs;
  return new Promise((resolve, reject) => {
    let reason = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      const detail = (reason || output || logTail(spec.logfile)).trim();
      reject(new TaskqError('TASKQ_NODE_START_FAILED', `${why}${detail ? `:\n${detail}` : ''}`, { exitCode: ExitCode.software }));
    };
    const timer = setTimeout(() => {
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      fail(`did not report that it consumes within ${timeoutMs / 1000} s (killed)`);
    }, timeoutMs);
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    child.on('message', (msg: { type?: string; message?: string; node?: string; url?: string }) => {
      if (msg?.type === 'failed') reason += msg.message ?? '';
      if (msg?.type !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      // Nothing else goes over the channel; an open one would keep both event loops busy.
      child.disconnect();
      if (detached) child.unref();
      resolve({ pid: child.pid as number, node: msg.node ?? '', child, output: () => output, ...(msg.url ? { url: msg.url } : {}) });
    });
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it consumed`));
  });
}
