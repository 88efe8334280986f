/**
 * Runs worker nodes (and a beat) as children of this process (`taskq up`), started as `taskq multi` starts its
 * daemons (node-process.ts: same node spec, same readiness over IPC) but attached: in this process
 * group, so Ctrl-C reaches them, and watched, so a node that dies is noticed. Stops them with SIGTERM,
 * then SIGKILL after a named delay, awaiting every exit.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { defaults } from '../defaults.js';
import { startNodeProcess } from './node-process.js';
import type { MultiNode } from './node-spec.js';

/**
 * How long a node may take to stop after SIGTERM before it is killed: its drain (the shutdown
 * timeout, then the grace its aborted jobs get, then writing their outcomes) and a margin. Killing
 * it sooner would cut the drain exactly when it gives jobs back.
 */
export function stopBudgetMs(shutdownTimeoutMs: number = defaults.shutdownTimeoutMs): number {
  return shutdownTimeoutMs + 2 * defaults.shutdownGraceMs + 5000;
}

export interface RunningNode {
  name: string;
  pid: number;
  child: ChildProcess;
  /** What the node printed on stderr (banner, early errors). */
  output: () => string;
  /** The URL a service said it serves on. */
  url?: string;
}

/** Emits 'exit' (node, code, signal) when a node ends on its own. */
export class Supervisor extends EventEmitter {
  readonly nodes: RunningNode[] = [];
  private stopping = false;

  async start(spec: MultiNode, env?: NodeJS.ProcessEnv, command = 'worker'): Promise<RunningNode> {
    const started = await startNodeProcess({ argv: spec.argv, logfile: spec.logfile, cwd: spec.cwd, env, detached: false, command });
    const node: RunningNode = { name: spec.name, pid: started.pid, child: started.child, output: started.output, ...(started.url ? { url: started.url } : {}) };
    node.child.once('exit', (code, signal) => {
      if (!this.stopping) this.emit('exit', node, code, signal);
    });
    this.nodes.push(node);
    return node;
  }

  /** SIGQUIT every node still up: a cold shutdown, their running jobs back in their queues at once. */
  coldStop(): void {
    for (const { child } of this.nodes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
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
