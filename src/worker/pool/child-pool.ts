/**
 * A pool of warm children — worker threads or forked processes — that run task code for a worker
 * node. Each child loads the app module once and runs one job at a time. A child that dies is
 * replaced (its job fails with WorkerLostError); a child is recycled after `maxTasksPerChild` jobs or
 * when, after a job, its memory is over `maxMemoryKb`. `kill` stops a job's code for good (hard time
 * limit, revoke --terminate) and replaces the child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ExitCode, Retry, TaskqError, UnrecoverableError } from '../../core/errors.js';
import type { Execution, ExecutionRequest, Executor, Settled } from '../executor.js';
import type { FromChild, PoolInit, ToChild, WireError } from './protocol.js';
import { expandIndex } from '../../multi/node-name.js';

const root = new URL('../../../', import.meta.url);
const childMain = new URL('dist/worker/pool/child-main.js', root);

export interface ChildPoolOptions {
  kind: 'threads' | 'processes';
  size: number;
  appModule: string;
  node: string;
  log: Logger;
  logLevel: string;
  logfile?: string | undefined;
  maxTasksPerChild?: number | undefined;
  maxMemoryKb?: number | undefined;
}

interface Job {
  id: string;
  task: string;
  resolve: (s: Settled) => void;
  onProgress: (value: unknown) => void;
  killReason?: Error;
}

interface Child {
  index: number;
  pid: number;
  send: (msg: ToChild) => void;
  kill: () => void;
  exited: Promise<void>;
  state: 'starting' | 'idle' | 'busy' | 'leaving';
  job: Job | undefined;
  tasks: number;
}

/** The error a job gets when its child dies under it (Celery's name). */
function workerLost(child: Child, how: string, job: Job): Error {
  const err = new Error(`pool child ${child.index} (pid ${child.pid}) ${how} while running ${job.task}[${job.id}]; a fresh child replaces it`);
  err.name = 'WorkerLostError';
  return err;
}

function fromWire(e: WireError): Error {
  if (e.name === 'Retry') return new Retry(e.message, e.countdownMs ?? undefined);
  if (e.code === 'TASKQ_RESULT_UNSERIALIZABLE') return new UnrecoverableError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  err.stack = e.stack ?? `${e.name}: ${e.message}`;
  return err;
}

export class ChildPool implements Executor {
  readonly kind: 'threads' | 'processes';
  private readonly children: Child[] = [];
  private readonly waiting: Array<(child: Child) => void> = [];
  private closing = false;

  constructor(private readonly opts: ChildPoolOptions) {
    this.kind = opts.kind;
  }

  /** Starts every child and waits until each has loaded the app (or fails, saying why). */
  async open(): Promise<void> {
    await Promise.all(Array.from({ length: this.opts.size }, (_, i) => this.spawn(i + 1)));
  }

  private spawn(index: number): Promise<void> {
    const logfile = this.opts.logfile === undefined ? undefined : expandIndex(this.opts.logfile, index);
    const init: PoolInit = { appModule: this.opts.appModule, node: this.opts.node, index, logLevel: this.opts.logLevel, logfile };
    let handle: ChildProcess | Worker;
    let child: Child;
    if (this.opts.kind === 'processes') {
      const proc = fork(childMain, [], { env: { ...process.env, TASKQ_POOL_INIT: JSON.stringify(init) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      handle = proc;
      child = {
        index,
        pid: proc.pid ?? -1,
        send: (msg) => proc.connected && proc.send(msg),
        kill: () => proc.kill('SIGKILL'),
        exited: once(proc, 'exit').then(() => undefined),
        state: 'starting',
        job: undefined,
        tasks: 0,
      };
    } else {
      const worker = new Worker(childMain, { workerData: init });
      handle = worker;
      child = {
        index,
        pid: process.pid,
        send: (msg) => worker.postMessage(msg),
        kill: () => void worker.terminate(),
        exited: once(worker, 'exit').then(() => undefined),
        state: 'starting',
        job: undefined,
        tasks: 0,
      };
    }
    this.children[index - 1] = child;
    return new Promise<void>((resolve, reject) => {
      const onMessage = (msg: FromChild): void => this.onMessage(child, msg, resolve, reject);
      handle.on('message', onMessage);
      handle.on('error', (err: Error) => this.opts.log.error({ err, index }, 'pool child error'));
      handle.once('exit', (code: number | null, signal?: NodeJS.Signals | null) => {
        const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
        if (child.state === 'starting') reject(new TaskqError('TASKQ_NODE_START_FAILED', `pool child ${index} ${how} while loading ${this.opts.appModule}`, { exitCode: ExitCode.software }));
        this.onExit(child, how);
      });
    });
  }

  private onMessage(child: Child, msg: FromChild, ready: () => void, fail: (err: Error) => void): void {
    switch (msg.type) {
      case 'ready':
        child.pid = msg.pid;
        ready();
        if (this.children[child.index - 1] !== child) child.send({ type: 'exit' }); // autoscale removed it meanwhile
        else this.release(child);
        return;
      case 'fatal':
        fail(new TaskqError('TASKQ_APP_MODULE_INVALID', `pool child ${child.index} could not load the app: ${msg.message}`, { exitCode: ExitCode.config }));
        child.kill();
        return;
      case 'progress':
        if (child.job?.id === msg.id) child.job.onProgress(msg.value);
        return;
      case 'done': {
        const job = child.job;
        if (!job || job.id !== msg.id) return;
        child.job = undefined;
        child.tasks++;
        job.resolve(msg.ok ? { ok: true, json: msg.json } : { ok: false, thrown: fromWire(msg.error) });
        if (!this.children.includes(child)) {
          child.send({ type: 'exit' }); // autoscale removed it while it finished this job
          return;
        }
        const tooMany = this.opts.maxTasksPerChild !== undefined && child.tasks >= this.opts.maxTasksPerChild;
        const tooBig = this.opts.maxMemoryKb !== undefined && msg.memoryKb > this.opts.maxMemoryKb;
        if (tooMany || tooBig) {
          this.opts.log.info({ index: child.index, tasks: child.tasks, memoryKb: msg.memoryKb }, tooBig ? 'recycling a pool child: memory over the limit' : 'recycling a pool child: task count reached');
          child.state = 'leaving';
          child.send({ type: 'exit' });
        } else {
          this.release(child);
        }
        return;
      }
    }
  }

  private onExit(child: Child, how: string): void {
    const job = child.job;
    child.job = undefined;
    if (job) job.resolve({ ok: false, thrown: job.killReason ?? workerLost(child, how, job) });
    const wasStarting = child.state === 'starting';
    child.state = 'leaving';
    // Replaced only if it still holds its place (not when autoscale removed it or the pool closes).
    if (this.closing || wasStarting || this.children[child.index - 1] !== child) return;
    if (job && !job.killReason) this.opts.log.error({ index: child.index, jobId: job.id }, `pool child ${how}; replacing it`);
    this.spawn(child.index).catch((err: unknown) => this.opts.log.error({ err, index: child.index }, 'could not replace a pool child'));
  }

  private release(child: Child): void {
    const waiter = this.waiting.shift();
    if (waiter) {
      child.state = 'busy';
      waiter(child);
    } else {
      child.state = 'idle';
    }
  }

  private acquire(): Promise<Child> {
    const idle = this.children.find((c) => c?.state === 'idle');
    if (idle) {
      idle.state = 'busy';
      return Promise.resolve(idle);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  start(request: ExecutionRequest): Execution {
    let job!: Job;
    let child: Child | undefined;
    const settled = new Promise<Settled>((resolve) => {
      job = { id: request.ctx.id, task: request.def.name, resolve, onProgress: (v) => void request.ctx.progress(v) };
    });
    void this.acquire().then((c) => {
      child = c;
      c.job = job;
      if (job.killReason) return c.kill();
      c.send({ type: 'run', id: job.id, task: job.task, args: request.args, attempt: request.ctx.attempt, queue: request.ctx.queue, node: request.ctx.node });
    });
    // Soft limits abort the signal here; pass it on to the child's own signal.
    request.ctx.signal.addEventListener('abort', () => {
      const reason = request.ctx.signal.reason as Error;
      child?.send({ type: 'abort', id: job.id, reason: { name: reason?.name ?? 'AbortError', message: reason?.message ?? 'aborted' } });
    }, { once: true });
    return {
      settled,
      kill: (reason) => {
        job.killReason = reason;
        if (child?.job === job) child.kill();
      },
    };
  }

  /** One more child (autoscale). */
  async grow(): Promise<void> {
    await this.spawn(this.children.length + 1);
  }

  /** One child less (autoscale): the newest idle one leaves; the node has given up its slot first. */
  async shrink(): Promise<void> {
    const last = this.children.at(-1);
    if (!last) return;
    this.children.pop();
    if (last.state === 'busy' || last.job) {
      // Still finishing a job: it leaves once done (its slot is already gone, so no new job comes).
      last.state = 'leaving';
      return;
    }
    last.state = 'leaving';
    last.send({ type: 'exit' });
    await last.exited;
  }

  /** Asks every child to exit; kills those still up after `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    const live = this.children.filter(Boolean);
    for (const c of live) c.send({ type: 'exit' });
    const timer = setTimeout(() => live.forEach((c) => c.kill()), graceMs);
    await Promise.all(live.map((c) => c.exited));
    clearTimeout(timer);
  }
}
