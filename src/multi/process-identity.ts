/**
 * Is the process a pidfile names still the one that wrote it? A pid alone does not say: pids are
 * reused (quickly in containers), and Celery's pidfiles then block a start forever. A holder must be
 * running, be a taskq process, and have started no later than its pidfile was written (exec keeps a
 * process's start time, so a node restarted in place by HUP still matches). Linux /proc; elsewhere a
 * running pid is assumed to hold its file.
 */
import { readFileSync, statSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;
/** /proc/stat's boot time is in whole seconds: allow that much error. */
const BOOT_TIME_SLACK_MS = 1000;

/**
 * Whether `pid` runs. A zombie does not: a daemon's parent is init, which may reap it late (up to a
 * second here), and stopwait must not wait for that.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return processState(pid) !== 'Z';
}

/** The state letter of /proc/<pid>/stat (R, S, D, Z, …); undefined without /proc. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

let bootMs: number | undefined;
function bootTimeMs(): number | undefined {
  if (bootMs === undefined) {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (m) bootMs = Number(m[1]) * 1000;
  }
  return bootMs;
}

/** When process `pid` started (ms since the epoch), from /proc; undefined if unknown. */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const boot = bootTimeMs();
    return boot === undefined || !Number.isFinite(ticks) ? undefined : boot + (ticks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** The process's command line, or undefined without /proc. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

export type HolderVerdict = 'running' | 'dead' | 'reused';

/** What became of the process `pid` that wrote `pidfile`. */
export function pidfileHolderState(pid: number, pidfile: string): HolderVerdict {
  if (!isRunning(pid)) return 'dead';
  const cmd = commandLine(pid);
  if (cmd === undefined) return 'running'; // no /proc: assume the worst
  if (!/taskq/.test(cmd)) return 'reused';
  const started = processStartMs(pid);
  let written: number;
  try {
    written = statSync(pidfile).mtimeMs;
  } catch {
    return 'running';
  }
  return started !== undefined && started > written + BOOT_TIME_SLACK_MS ? 'reused' : 'running';
}
