/**
 * One pool child — a worker thread or a forked process running child-main.js — as the pool sees it,
 * and the errors a job gets from the pool.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Retry, UnrecoverableError } from '../../errors.js';
import type { Settled } from '../executor.js';
import type { PoolInit, ToChild, WireError } from './protocol.js';

const root = new URL('../../../', import.meta.url);
const childMain = new URL('dist/worker/pool/child-main.js', root);

export interface Job {
  id: string;
  task: string;
  resolve: (s: Settled) => void;
  onProgress: (value: unknown, state?: string) => void;
  killReason?: Error;
}

export interface Child {
  index: number;
  pid: number;
  send: (msg: ToChild) => void;
  kill: () => void;
  exited: Promise<void>;
  state: 'starting' | 'idle' | 'busy' | 'leaving';
  job: Job | undefined;
  tasks: number;
}

/** Starts child `index` (it loads the app, then says ready); the handle emits 'message', 'error', 'exit'. */
export function startChild(kind: 'threads' | 'processes', index: number, init: PoolInit): { handle: ChildProcess | Worker; child: Child } {
  const common = { index, state: 'starting' as const, job: undefined, tasks: 0 };
  if (kind === 'processes') {
    const proc = fork(childMain, [], { env: { ...process.env, TASKQ_POOL_INIT: JSON.stringify(init), TASKQ_POOL_PARENT: String(process.pid) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const child: Child = {
      ...common,
      pid: proc.pid ?? -1,
      send: (msg) => void (proc.connected && proc.send(msg)),
      kill: () => void proc.kill('SIGKILL'),
      exited: once(proc, 'exit').then(() => undefined),
    };
    return { handle: proc, child };
  }
  const worker = new Worker(childMain, { workerData: init });
  const child: Child = {
    ...common,
    pid: process.pid,
    send: (msg) => worker.postMessage(msg),
    kill: () => void worker.terminate(),
    exited: once(worker, 'exit').then(() => undefined),
  };
  return { handle: worker, child };
}

/** The error a job waiting for a child gets when no child can start: the node gives the job back. */
export class PoolUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolUnavailable';
  }
}

/** The error a job gets when its child dies under it (Celery's name). */
export function workerLost(child: Child, how: string, job: Job): Error {
  const err = new Error(`pool child ${child.index} (pid ${child.pid}) ${how} while running ${job.task}[${job.id}]; a fresh child replaces it`);
  err.name = 'WorkerLostError';
  return err;
}

/** A task's error as the child sent it. */
export function fromWire(e: WireError): Error {
  if (e.name === 'Retry') {
    return new Retry(e.message, e.countdownMs ?? undefined, { ...(e.cause ? { cause: fromWire(e.cause) } : {}), ...(e.maxRetries !== undefined ? { maxRetries: e.maxRetries } : {}) });
  }
  if (e.code === 'TASKQ_RESULT_UNSERIALIZABLE') return new UnrecoverableError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  err.stack = e.stack ?? `${e.name}: ${e.message}`;
  return err;
}
