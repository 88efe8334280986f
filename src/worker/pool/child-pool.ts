/**
 * A pool of warm children — worker threads or forked processes — that run task code for a worker
 * node. Each child loads the app module once and runs one job at a time. A child that dies is
 * replaced (its job fails with WorkerLostError); a child is recycled after `maxTasksPerChild` jobs or
 * when, after a job, its memory is over `maxMemoryKb`. `kill` stops a job's code for good (hard time
 * limit, revoke --terminate) and replaces the child.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ExitCode, TaskqError } from '../../errors.js';
import type { Execution, ExecutionRequest, Executor, Settled } from '../executor.js';
import type { FromChild, PoolInit } from './protocol.js';
import { expandIndex } from './log-file.js';
import { fromWire, PoolUnavailable, startChild, workerLost, type Child, type Job } from './child.js';

export { PoolUnavailable } from './child.js';

export interface ChildPoolOptions {
  kind: 'threads' | 'processes';
  size: number;
  appModule: string;
  node: string;
  log: Logger;
  logLevel: string;
  logfile?: string | undefined;
  humanLogs?: boolean;
  maxTasksPerChild?: number | undefined;
  maxMemoryKb?: number | undefined;
}

/** Backoff of a child that fails to start: 100 ms doubling up to this. */
const MAX_RESPAWN_DELAY_MS = 30_000;

/**
 * Events: 'unhealthy' (reason) when no child can start — every slot failed to start its child and is
 * being retried with backoff; jobs waiting for a child get PoolUnavailable — and 'healthy' when a
 * child is up again.
 */
export class ChildPool extends EventEmitter implements Executor {
  readonly kind: 'threads' | 'processes';
  private readonly children: Child[] = [];
  private readonly waiting: Array<{ resolve: (child: Child) => void; reject: (err: Error) => void }> = [];
  private closing = false;
  /** Slots whose child failed to start (retried with backoff). */
  private readonly down = new Map<number, string>();
  /** Why no child can run a job now (undefined: healthy). */
  unhealthy: string | undefined;

  constructor(private readonly opts: ChildPoolOptions) {
    super();
    this.kind = opts.kind;
  }

  /** Starts every child and waits until each has loaded the app (or fails, saying why). */
  async open(): Promise<void> {
    await Promise.all(Array.from({ length: this.opts.size }, (_, i) => this.spawn(i + 1)));
  }

  private spawn(index: number): Promise<void> {
    const logfile = this.opts.logfile === undefined ? undefined : expandIndex(this.opts.logfile, index);
    const init: PoolInit = { appModule: this.opts.appModule, node: this.opts.node, index, logLevel: this.opts.logLevel, logfile, humanLogs: this.opts.humanLogs ?? false };
    const { handle, child } = startChild(this.opts.kind, index, init);
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
        if (child.job?.id === msg.id) child.job.onProgress(msg.value, msg.state);
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
    this.respawn(child.index, 0);
  }

  /** Starts slot `index`'s child again; while it fails, retries with backoff and says so. */
  private respawn(index: number, failures: number): void {
    this.spawn(index).then(
      () => this.slotUp(index),
      (err: Error) => {
        if (this.closing || index > this.children.length) return;
        const delayMs = Math.min(100 * 2 ** failures, MAX_RESPAWN_DELAY_MS);
        this.opts.log.error({ err, index, retryInMs: delayMs }, 'could not start a pool child; retrying');
        this.slotDown(index, err.message);
        setTimeout(() => this.respawn(index, failures + 1), delayMs).unref();
      },
    );
  }

  private slotDown(index: number, why: string): void {
    this.down.set(index, why);
    if (this.unhealthy || this.down.size < this.children.length) return;
    this.unhealthy = `no pool child can start (${this.down.size} of ${this.children.length} failing): ${why}`;
    this.emit('unhealthy', this.unhealthy);
    // Nothing will run them here: the node gives them back to their queue.
    for (const waiter of this.waiting.splice(0)) waiter.reject(new PoolUnavailable(this.unhealthy));
  }

  private slotUp(index: number): void {
    if (!this.down.delete(index)) return;
    this.opts.log.warn({ index }, 'pool child started again');
    if (this.unhealthy) {
      this.unhealthy = undefined;
      this.emit('healthy');
    }
  }

  private release(child: Child): void {
    const waiter = this.waiting.shift();
    if (waiter) {
      child.state = 'busy';
      waiter.resolve(child);
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
    if (this.unhealthy) return Promise.reject(new PoolUnavailable(this.unhealthy));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  start(request: ExecutionRequest): Execution {
    let job!: Job;
    let child: Child | undefined;
    const settled = new Promise<Settled>((resolve) => {
      job = { id: request.ctx.id, task: request.def.name, resolve, onProgress: (v, state) => void (state ? request.ctx.updateState(state, v) : request.ctx.progress(v)).catch(() => undefined) };
    });
    let passed = false;
    const passOn = (): void => {
      if (passed || !child) return;
      passed = true;
      const reason = request.ctx.signal.reason as Error;
      child.send({ type: 'abort', id: job.id, reason: { name: reason?.name ?? 'AbortError', message: reason?.message ?? 'aborted' } });
    };
    void this.acquire().then(
      (c) => {
        child = c;
        c.job = job;
        if (job.killReason) return c.kill();
        c.send({ type: 'run', id: job.id, task: job.task, args: request.args, ...(Object.keys(request.ctx.kwargs).length ? { kwargs: request.ctx.kwargs } : {}), attempt: request.ctx.attempt, queue: request.ctx.queue, node: request.ctx.node });
        // Aborted before the child had the job: tell it now.
        if (request.ctx.signal.aborted) passOn();
      },
      (err: Error) => job.resolve({ ok: false, thrown: err }),
    );
    // Soft limits abort the signal here; pass it on to the child's own signal.
    // A listener added to a signal aborted already never fires: that case is told once the child has the job.
    if (!request.ctx.signal.aborted) request.ctx.signal.addEventListener('abort', passOn, { once: true });
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

  /** Log files were rotated: every child opens its own again. */
  reopenLogs(): void {
    for (const c of this.children) c?.send({ type: 'reopen-logs' });
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
