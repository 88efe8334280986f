/**
 * `taskq multi`'s operations on a line's nodes: start, stop (and wait), restart, kill. Every node is
 * handled in parallel, and each operation resolves with one outcome per node (also reported as it
 * happens through `onEvent`, for the presenter). Nothing here prints.
 */
import { accessSync, chownSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, TaskqError } from '../errors.js';
import { logTail, startNodeProcess } from './node-process.js';
import { isRunning } from './process-identity.js';
import { resolveIdentity } from './identity.js';
import { livePidfileHolder } from './pidfile.js';
import { readNodeRecord, writeNodeRecord } from './node-record.js';
import type { MultiNode } from './node-spec.js';
import { expandIndex } from '../worker/pool/log-file.js';

/** How often a stopping node is looked at: bounds how late stopwait returns after it exits. */
const POLL_MS = 20;

export type NodeOutcome =
  | { kind: 'started'; node: string; pid: number; ms: number }
  | { kind: 'already-running'; node: string; pid: number }
  | { kind: 'failed'; node: string; reason: string }
  | { kind: 'down'; node: string }
  | { kind: 'signalled'; node: string; pid: number; signal: NodeJS.Signals }
  | { kind: 'stopped'; node: string; pid: number; ms: number }
  | { kind: 'killed'; node: string; pid: number }
  | { kind: 'still-running'; node: string; pid: number }
  | { kind: 'reloaded'; node: string; pid: number; ms: number };

export interface ClusterContext {
  /** Where relative paths in node arguments are resolved (the nodes' working directory). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Each outcome as it happens (a signal sent comes before the node's final outcome). */
  onEvent?: (outcome: NodeOutcome) => void;
}

export interface StopOptions {
  signal: NodeJS.Signals;
  /** Wait until each node has exited (stopwait, restart). */
  wait: boolean;
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  /** At the timeout, SIGKILL the nodes still running (and wait for them). */
  kill: boolean;
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync never returns for some paths it cannot
 * create (under /proc, for one), and an operator's typo must end in an error, not a hang.
 */
export function ensureDir(dir: string, created: string[] = []): string[] {
  if (existsSync(dir)) return created;
  const parent = dirname(dir);
  if (parent !== dir) ensureDir(parent, created);
  try {
    mkdirSync(dir);
    created.push(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return created;
}

/**
 * Creates the folder; a node that runs as another user (--uid / --gid, started by root) gets the
 * folders created for it, so it can write its pidfile and logs there (existing folders are not
 * touched).
 */
function writable(dir: string, what: string, option: string, owner: { uid?: number; gid?: number }): void {
  try {
    const created = ensureDir(dir);
    if (owner.uid !== undefined || owner.gid !== undefined) for (const d of created) chownSync(d, owner.uid ?? -1, owner.gid ?? -1);
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new TaskqError(
      'TASKQ_CANT_CREATE',
      `cannot write the ${what} folder ${dir}: ${(cause as Error).message}. Run as a user who may write there, or pass ${option} (e.g. ${option}=/tmp/taskq/%n${what === 'pidfile' ? '.pid' : '%I.log'}).`,
      { cause, exitCode: ExitCode.cantCreate },
    );
  }
}

/** The value of `flag` in a node's arguments (`--uid x` or `--uid=x`). */
function argValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (at < 0) return undefined;
  const a = argv[at] as string;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[at + 1];
}

/** The user and group a node drops to, if its arguments say. */
function ownerOf(node: MultiNode): { uid?: number; gid?: number } {
  return resolveIdentity(argValue(node.argv, '--uid'), argValue(node.argv, '--gid'));
}

/** Checks, before any node is started, that every pidfile and log folder can be written. */
export function preflight(nodes: readonly MultiNode[]): void {
  for (const n of nodes) {
    const owner = ownerOf(n);
    writable(dirname(n.pidfile), 'pidfile', '--pidfile', owner);
    writable(dirname(expandIndex(n.logfile, 0)), 'log', '--logfile', owner);
  }
}

async function startOne(node: MultiNode, ctx: ClusterContext): Promise<NodeOutcome> {
  const { argv } = node;
  const cwd = node.cwd ?? ctx.cwd;
  const holder = livePidfileHolder(node.pidfile);
  if (holder !== undefined) return { kind: 'already-running', node: node.name, pid: holder };
  const t0 = performance.now();
  try {
    const { pid } = await startNodeProcess({ argv, logfile: node.logfile, cwd, env: ctx.env, ...ownerOf(node), ...(ctx.readyTimeoutMs ? { readyTimeoutMs: ctx.readyTimeoutMs } : {}) });
    writeNodeRecord(node.pidfile, { name: node.name, argv, cwd, logfile: node.logfile, startedAt: Date.now() });
    return { kind: 'started', node: node.name, pid, ms: performance.now() - t0 };
  } catch (err) {
    return { kind: 'failed', node: node.name, reason: (err as Error).message };
  }
}

function report(ctx: ClusterContext, outcome: NodeOutcome): NodeOutcome {
  ctx.onEvent?.(outcome);
  return outcome;
}

/** Starts every node not already running; OK means it consumes. */
export async function startNodes(nodes: readonly MultiNode[], ctx: ClusterContext): Promise<NodeOutcome[]> {
  preflight(nodes);
  return Promise.all(nodes.map(async (n) => report(ctx, await startOne(n, ctx))));
}

/** Polls until `pid` is gone or the deadline passes; true if it is gone. */
async function waitGone(pid: number, deadline: number): Promise<boolean> {
  while (isRunning(pid)) {
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

async function stopOne(node: MultiNode, options: StopOptions, ctx: ClusterContext): Promise<NodeOutcome> {
  const pid = livePidfileHolder(node.pidfile);
  if (pid === undefined) return { kind: 'down', node: node.name };
  const t0 = performance.now();
  try {
    process.kill(pid, options.signal);
  } catch {
    return { kind: 'down', node: node.name };
  }
  report(ctx, { kind: 'signalled', node: node.name, pid, signal: options.signal });
  if (!options.wait) return { kind: 'signalled', node: node.name, pid, signal: options.signal };
  if (await waitGone(pid, t0 + options.timeoutMs)) return { kind: 'stopped', node: node.name, pid, ms: performance.now() - t0 };
  if (!options.kill) return { kind: 'still-running', node: node.name, pid };
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* it ended meanwhile */
  }
  await waitGone(pid, performance.now() + 5000);
  return { kind: 'killed', node: node.name, pid };
}

/** Signals every running node; with `wait`, until each has exited (in parallel). */
export async function stopNodes(nodes: readonly MultiNode[], options: StopOptions, ctx: ClusterContext): Promise<NodeOutcome[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const outcome = await stopOne(n, options, ctx);
      return outcome.kind === 'signalled' ? outcome : report(ctx, outcome);
    }),
  );
}

/** Stops each node and starts it again as soon as it is down; nodes that were down are started. */
export async function restartNodes(nodes: readonly MultiNode[], options: StopOptions, ctx: ClusterContext): Promise<NodeOutcome[]> {
  preflight(nodes);
  return Promise.all(
    nodes.map(async (n) => {
      const stopped = await stopOne(n, { ...options, wait: true }, ctx);
      if (stopped.kind !== 'down') report(ctx, stopped);
      if (stopped.kind === 'still-running') return report(ctx, { kind: 'failed', node: n.name, reason: `did not stop within ${options.timeoutMs / 1000} s (pass --kill to end it)` });
      return report(ctx, await startOne(n, ctx));
    }),
  );
}

/** Whether the node answers, from a process image started after `sinceMs` (epoch ms). */
export type RestartProbe = (node: MultiNode, sinceMs: number) => Promise<boolean>;

/**
 * Restarts each node in place: HUP (it drains, then re-executes itself in the same pid — the pid
 * systemd and the pidfile know stays right), then waits until the new image consumes, as `probe`
 * finds. Nodes that were down are started.
 */
export async function reloadNodes(nodes: readonly MultiNode[], timeoutMs: number, probe: RestartProbe, ctx: ClusterContext): Promise<NodeOutcome[]> {
  preflight(nodes);
  return Promise.all(
    nodes.map(async (n) => {
      const pid = livePidfileHolder(n.pidfile);
      if (pid === undefined) return report(ctx, await startOne(n, ctx));
      const since = Date.now();
      const t0 = performance.now();
      process.kill(pid, 'SIGHUP');
      report(ctx, { kind: 'signalled', node: n.name, pid, signal: 'SIGHUP' });
      while (performance.now() - t0 < timeoutMs) {
        if (!isRunning(pid)) return report(ctx, { kind: 'failed', node: n.name, reason: `exited instead of restarting in place:\n${logTail(n.logfile)}` });
        if (await probe(n, since).catch(() => false)) return report(ctx, { kind: 'reloaded', node: n.name, pid, ms: performance.now() - t0 });
        await sleep(50);
      }
      return report(ctx, { kind: 'failed', node: n.name, reason: `did not come back within ${timeoutMs / 1000} s:\n${logTail(n.logfile)}` });
    }),
  );
}

/**
 * The node as it was last started (its record: arguments, working directory and log file), when the
 * line gives no options of its own; otherwise as the line says. A `--logfile` on the line wins.
 */
export function asRecorded(node: MultiNode, line: { givesOptions: boolean; givesLogfile: boolean }): MultiNode {
  const record = line.givesOptions ? undefined : readNodeRecord(node.pidfile);
  if (!record || record.name !== node.name) return node;
  return { ...node, argv: record.argv, cwd: record.cwd, ...(record.logfile !== undefined && !line.givesLogfile ? { logfile: record.logfile } : {}) };
}
