/**
 * `taskq worker --detach`: starts the same node as a daemon (multi/daemon.ts) and returns once it
 * consumes, printing its pid; a node that cannot start is reported with its reason and a non-zero
 * exit. The pidfile and log file are resolved against the directory the command runs in, then the
 * node works in `--workdir` (where `-A` is found).
 */
import { resolve } from 'node:path';
import { ExitCode, TaskqError } from '../../errors.js';
import { startNodeProcess } from '../../multi/node-process.js';
import { livePidfileHolder } from '../../multi/pidfile.js';
import { resolveIdentity } from '../../multi/identity.js';
import type { CliIo } from '../context.js';

export interface DetachOptions {
  pidfile?: string;
  logfile?: string;
  workdir?: string;
  uid?: string;
  gid?: string;
}

/** Options re-written for the node (given again, absolute) or meant for this starter only. */
const REWRITTEN = new Set(['--workdir', '--pidfile', '--logfile']);

/** The node's own arguments: these, without --detach / --workdir, with absolute pidfile and log file. */
export function detachedArgv(rawArgs: readonly string[], options: DetachOptions, cwd: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i] as string;
    if (a === '--') {
      out.push(...rawArgs.slice(i));
      break;
    }
    if (a === '--detach' || a === '-D') continue;
    const flag = a.split('=', 1)[0] as string;
    if (REWRITTEN.has(flag)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  if (options.pidfile) out.push(`--pidfile=${resolve(cwd, options.pidfile)}`);
  if (options.logfile) out.push(`--logfile=${resolve(cwd, options.logfile)}`);
  return out;
}

export async function runDetached(rawArgs: readonly string[], options: DetachOptions, io: CliIo): Promise<number> {
  const pidfile = options.pidfile ? resolve(io.cwd, options.pidfile) : undefined;
  const holder = pidfile ? livePidfileHolder(pidfile) : undefined;
  if (holder !== undefined) {
    throw new TaskqError('TASKQ_PIDFILE_LOCKED', `already running (pid ${holder}): pidfile ${pidfile} is held by a live node. Stop it first, or give this node another --pidfile.`, {
      exitCode: ExitCode.cantCreate,
    });
  }
  const started = await startNodeProcess({
    argv: detachedArgv(rawArgs, options, io.cwd),
    logfile: options.logfile ? resolve(io.cwd, options.logfile) : undefined,
    cwd: options.workdir ? resolve(io.cwd, options.workdir) : io.cwd,
    ...resolveIdentity(options.uid, options.gid),
  });
  io.stdout(`${started.node || 'node'}: OK (pid ${started.pid})\n`);
  return ExitCode.ok;
}
