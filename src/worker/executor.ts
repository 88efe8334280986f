/**
 * Where task code runs. The async pool calls the handler in the node's own event loop; the threads
 * and processes pools (pool/child-pool.ts) send the job to a child that can be killed, which is what
 * makes a hard time limit or `revoke --terminate` stop even a busy CPU loop.
 */
import type { TaskContext } from '../core/context.js';
import type { TaskDefinition } from '../core/task.js';

/** How a handler ended: its value, its value already serialised by a child, or what it threw. */
export type Settled = { ok: true; value: unknown } | { ok: true; json: string } | { ok: false; thrown: unknown };

export interface Execution {
  settled: Promise<Settled>;
  /** Stops the code for good (threads / processes); the execution then settles with `reason`. */
  kill?: (reason: Error) => void;
}

export interface ExecutionRequest {
  def: TaskDefinition;
  ctx: TaskContext;
  args: unknown[];
}

export interface Executor {
  readonly kind: PoolKind;
  start(request: ExecutionRequest): Execution;
  close(): Promise<void>;
}

export type PoolKind = 'async' | 'threads' | 'processes';
export const POOL_KINDS: readonly PoolKind[] = ['async', 'threads', 'processes'];

/**
 * Runs a handler to its end; a synchronous throw is a rejection like any other (an async function
 * catches both). The handler starts a microtask later, after start() returned: its time limits are
 * counted from before its synchronous part.
 */
async function settle({ def, ctx, args }: ExecutionRequest): Promise<Settled> {
  await undefined;
  try {
    return { ok: true, value: await (def.bind ? def.handler(ctx, ...args) : def.handler(...args)) };
  } catch (thrown) {
    return { ok: false, thrown };
  }
}

/** Runs handlers in this event loop. Code that ignores ctx.signal cannot be stopped here. */
export class AsyncExecutor implements Executor {
  readonly kind = 'async';

  start(request: ExecutionRequest): Execution {
    return { settled: settle(request) };
  }

  async close(): Promise<void> {}
}
