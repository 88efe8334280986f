/**
 * Runs worker nodes as child processes of this one (`taskq up`): starts each with `taskq worker`,
 * resolves once the node says over IPC that it is ready (consuming: `{type: 'ready'}`, not a match on
 * its banner text), and stops them with SIGTERM, then SIGKILL after a named delay, awaiting every exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { TaskqError, ExitCode } from '../errors.js';
import { defaults } from '../defaults.js';
import { taskqBin } from './daemon.js';

/**
 * How long a node may take to stop after SIGTERM before it is killed: its drain (the shutdown
 * timeout, then the grace its aborted jobs get, then writing their outcomes) and a margin. Killing
 * it sooner would cut the drain exactly when it gives jobs back.
 */
export function stopBudgetMs(shutdownTimeoutMs: number = defaults.shutdownTimeoutMs): number {
  return shutdownTimeoutMs + 2 * defaults.shutdownGraceMs + 5000;
}

export interface SupervisedNode {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface RunningNode {
  name: string;
  pid: number;
  child: ChildProcess;
  /** What the node printed on stderr (banner, early errors). */
  output: string;
}

/** Emits 'exit' (node, code, signal) when a node ends on its own. */
export class Supervisor extends EventEmitter {
  readonly nodes: RunningNode[] = [];
  private stopping = false;

  async start(spec: SupervisedNode, readyTimeoutMs = 20_000): Promise<RunningNode> {
    const child = spawn(process.execPath, [taskqBin, 'worker', ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const node: RunningNode = { name: spec.name, pid: child.pid ?? -1, child, output: '' };
    child.stderr!.on('data', (chunk: Buffer) => {
      if (node.output.length < 64 * 1024) node.output += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new TaskqError('TASKQ_NODE_START_FAILED', `node ${spec.name} did not report ready within ${readyTimeoutMs} ms:\n${node.output}`, { exitCode: ExitCode.software }));
      }, readyTimeoutMs);
      child.on('message', (msg: { type?: string }) => {
        if (msg?.type !== 'ready') return;
        clearTimeout(timer);
        // Nothing else goes over the channel; an open one would only keep both processes' loops busy.
        child.disconnect();
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new TaskqError('TASKQ_NODE_START_FAILED', `node ${spec.name} exited (${signal ?? code}) before it was ready:\n${node.output.trim()}`, { exitCode: ExitCode.software }));
      });
    });
    child.removeAllListeners('exit');
    child.once('exit', (code, signal) => {
      if (!this.stopping) this.emit('exit', node, code, signal);
    });
    this.nodes.push(node);
    return node;
  }

  /** SIGTERM every node, SIGKILL those still up after `killAfterMs` (default: longer than their drain), and wait for every exit. */
  async stopAll(killAfterMs = stopBudgetMs()): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.nodes.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
