/**
 * Records attempt outcomes in batches: every outcome of an event-loop turn goes to Redis in one
 * finish script call per queue (up to 100 jobs a call). Until recorded, a job is still in its
 * queue's `active` list, so it is listed among the ids the node keeps alive.
 */
import type { Logger } from 'pino';
import type { Keys } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from '../core/config.js';
import type { Attempt } from './job-runner.js';
import { finishEntry, finishHeader, finishKeys, startNotice } from './outcome.js';
import type { TakenJob } from './queue-consumer.js';

/** Most jobs one finish script call records. */
const FINISH_BATCH = 100;

interface Pending {
  job: TakenJob;
  attempt: Attempt;
}

export class OutcomeRecorder {
  private readonly pending = new Map<string, Pending[]>();
  /** Prefetched jobs that started since the last flush: their STARTED record and event go with it. */
  private readonly notices = new Map<string, TakenJob[]>();
  /** Jobs whose outcome is queued or being written, by id → queue. */
  private readonly unrecorded = new Map<string, string>();
  private scheduled = false;
  private flushes = 0;

  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly config: AppConfig,
    private readonly node: string,
    private readonly log: Logger,
    /** Called for each outcome once it is in Redis. */
    private readonly onRecorded: (job: TakenJob, attempt: Attempt) => void,
    /** Called after each flush (the node checks whether it is idle). */
    private readonly onFlushed: () => void,
  ) {}

  /** Queues an outcome for the next flush (at the end of this event-loop turn). */
  record(queue: string, job: TakenJob, attempt: Attempt): void {
    this.unrecorded.set(job.id, queue);
    const list = this.pending.get(queue);
    if (list) list.push({ job, attempt });
    else this.pending.set(queue, [{ job, attempt }]);
    this.schedule();
  }

  /** A prefetched job started: it is marked STARTED with the next flush (no extra round trip). */
  started(queue: string, job: TakenJob): void {
    const list = this.notices.get(queue);
    if (list) list.push(job);
    else this.notices.set(queue, [job]);
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Nothing queued, nothing being written. */
  get idle(): boolean {
    return this.unrecorded.size === 0 && this.flushes === 0;
  }

  /** Ids still in `active` because their outcome is not recorded yet, with their queue. */
  *unrecordedJobs(): Iterable<[id: string, queue: string]> {
    yield* this.unrecorded;
  }

  /** ctx.progress(value): the STARTED record gets the value (producers see it), and a task-progress event. */
  async progress(id: string, queue: string, startedAt: number, value: unknown): Promise<void> {
    const { keys, config } = this;
    const pipeline = this.client.pipeline();
    pipeline.set(keys.result(id), JSON.stringify({ state: 'STARTED', id, node: this.node, startedAt, progress: value }), 'PX', config.resultExpiresMs, 'XX');
    if (config.events) {
      pipeline.xadd(keys.events, 'MAXLEN', '~', config.eventsMaxLen, '*', 'type', 'task-progress', 'data', JSON.stringify({ id, queue, node: this.node, progress: value }));
    }
    await pipeline.exec();
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batches = new Map(this.pending);
    const notices = new Map(this.notices);
    this.pending.clear();
    this.notices.clear();
    this.flushes++;
    const calls: Promise<void>[] = [];
    for (const queue of new Set([...batches.keys(), ...notices.keys()])) {
      const items = batches.get(queue) ?? [];
      // Start notices ride with the queue's first call (alone if it has no outcome yet).
      calls.push(this.write(queue, items.slice(0, FINISH_BATCH), notices.get(queue) ?? []));
      for (let i = FINISH_BATCH; i < items.length; i += FINISH_BATCH) calls.push(this.write(queue, items.slice(i, i + FINISH_BATCH), []));
    }
    await Promise.all(calls);
    this.flushes--;
    this.onFlushed();
  }

  private async write(queue: string, batch: Pending[], started: TakenJob[]): Promise<void> {
    const now = Date.now();
    const argv = finishHeader(this.config, this.keys, now, started.length);
    for (const job of started) argv.push(...startNotice(job.id, job.raw, job.startedAt, this.node, this.config));
    for (const { job, attempt } of batch) {
      argv.push(...finishEntry(attempt, { config: this.config, node: this.node, now, startedAt: job.startedAt, raw: job.raw }));
    }
    try {
      await runScript(this.client, 'taskqFinish', finishKeys(this.keys, queue), argv);
    } catch (err) {
      this.log.error({ err, queue, jobs: batch.map((b) => b.job.id) }, 'could not record job outcomes; the stall check will re-deliver them');
      for (const { job } of batch) this.unrecorded.delete(job.id);
      return;
    }
    for (const { job, attempt } of batch) {
      this.unrecorded.delete(job.id);
      this.onRecorded(job, attempt);
    }
  }
}
