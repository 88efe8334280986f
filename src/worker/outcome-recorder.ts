/**
 * Records delivery outcomes in batches: every outcome of an event-loop turn goes to Redis in one
 * finish script call per queue (up to 100 jobs a call), with the start requests of held jobs about to
 * start. Until recorded, a delivery's entry is still in its queue's `active` list, so it is listed
 * among the entries the node keeps alive; a write that fails (Redis unreachable, OOM, READONLY) is
 * retried with backoff for as long as it takes, and the node is told while it keeps failing.
 */
import type { Logger } from 'pino';
import { deliveryEntry } from '../broker/delivery.js';
import type { Keys } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from '../core/config.js';
import { TaskqError, toError } from '../errors.js';
import { errorInfo, peekTaskName } from '../broker/message.js';
import type { Attempt } from './job-runner.js';
import { finishEntry, finishHeader, finishKeys, peekOptions, startRequest, startedRecord } from './outcome.js';
import type { TakenJob } from './queue-consumer.js';

/** Most jobs one finish script call records. */
const FINISH_BATCH = 100;
/** Backoff of a failed finish call: 100 ms doubling up to this. */
const MAX_BACKOFF_MS = 5000;

/** finish.lua's verdict on a start request. */
export type StartVerdict = 'ok' | 'revoked' | 'expired' | 'over';

/** finish.lua's code per outcome (see its header). */
export type RecordCode = 'recorded' | 'final-kept' | 'not-owned' | 'late-success';
const CODES: Record<string, RecordCode> = { '1': 'recorded', '2': 'final-kept', '0': 'not-owned', '3': 'late-success' };

interface Pending {
  job: TakenJob;
  attempt: Attempt;
}

interface StartPending {
  job: TakenJob;
  waits: boolean;
  resolve: (verdict: StartVerdict) => void;
}

export interface RecorderHooks {
  /** An outcome reached Redis (whatever finish.lua made of it). */
  recorded(job: TakenJob, attempt: Attempt, code: RecordCode): void;
  /** After each flush (the node checks whether it is idle). */
  flushed(): void;
  /** Writes keep failing since `sinceMs` (undefined: they work again). */
  trouble(err: Error | undefined, sinceMs: number): void;
  /** Whether the node writes task events now. */
  taskEvents(): boolean;
}

export class OutcomeRecorder {
  private readonly pending = new Map<string, Pending[]>();
  private readonly starts = new Map<string, StartPending[]>();
  /** Deliveries whose outcome is queued or being written: `active` entry → queue. */
  private readonly unrecorded = new Map<string, string>();
  private scheduled = false;
  private flushes = 0;
  private failures = 0;
  private failingSince = 0;

  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly config: AppConfig,
    private readonly node: string,
    private readonly log: Logger,
    /** Redis's time as the node reads it (ms). */
    private readonly now: () => number,
    private readonly hooks: RecorderHooks,
  ) {}

  /** An outcome waiting for the next flush is a retry due at once. */
  retryDueNow = false;

  /** Queues an outcome for the next flush (at the end of this event-loop turn). */
  record(queue: string, job: TakenJob, attempt: Attempt): void {
    if (attempt.outcome.kind === 'retry' && attempt.outcome.delayMs <= 0) this.retryDueNow = true;
    this.unrecorded.set(deliveryEntry(job.token, job.id), queue);
    push(this.pending, queue, { job, attempt });
    this.schedule();
  }

  /**
   * A held job starts: finish.lua checks revocation and expiry and marks it STARTED, with the next
   * flush (no extra round trip when outcomes are being written anyway). With `waits` the job waits
   * for the verdict (released unless "ok"); without, it runs already and the verdict may stop it.
   */
  start(queue: string, job: TakenJob, waits: boolean): Promise<StartVerdict> {
    return new Promise((resolve) => {
      push(this.starts, queue, { job, waits, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Runs `fn` once the outcomes queued so far have been sent (at once if none are waiting). */
  afterFlush(fn: () => void): void {
    if (this.scheduled) this.afterSend.push(fn);
    else fn();
  }

  private afterSend: Array<() => void> = [];

  /** Nothing queued, nothing being written. */
  get idle(): boolean {
    return this.unrecorded.size === 0 && this.flushes === 0 && this.starts.size === 0;
  }

  /** `active` entries whose outcome is not recorded yet, with their queue. */
  *unrecordedEntries(): Iterable<[entry: string, queue: string]> {
    yield* this.unrecorded;
  }

  /**
   * ctx.progress(value): this delivery's STARTED record gets the value (producers see it), and a
   * task-progress event. Nothing is written once the job is over or owned by another delivery.
   */
  async progress(queue: string, job: TakenJob, value: unknown, state?: string): Promise<boolean> {
    const { keys, config } = this;
    const task = peekTaskName(job.raw);
    const record = startedRecord({ delivery: job.token, id: job.id, task, node: this.node, startedAt: job.startedAt, attempt: peekOptions(job.raw).attempt, progress: value, ...(state ? { custom: state } : {}) });
    const event = this.hooks.taskEvents() ? JSON.stringify({ id: job.id, task, queue, node: this.node, progress: value, ...(state ? { state } : {}) }) : '';
    const done = await runScript(this.client, 'taskqProgress', [keys.result(job.id), keys.events], [job.token, record, config.resultExpiresMs, event, config.eventsMaxLen]);
    return done === 1;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batches = new Map(this.pending);
    const starts = new Map(this.starts);
    this.pending.clear();
    this.starts.clear();
    this.flushes++;
    const calls: Promise<void>[] = [];
    for (const queue of new Set([...batches.keys(), ...starts.keys()])) {
      const items = batches.get(queue) ?? [];
      // Start requests ride with the queue's first call (alone if it has no outcome yet).
      calls.push(this.write(queue, items.slice(0, FINISH_BATCH), starts.get(queue) ?? []));
      for (let i = FINISH_BATCH; i < items.length; i += FINISH_BATCH) calls.push(this.write(queue, items.slice(i, i + FINISH_BATCH), []));
    }
    // The calls are on the wire (in order on the connection): what waited for them may go now.
    this.retryDueNow = false;
    for (const fn of this.afterSend.splice(0)) fn();
    await Promise.all(calls);
    this.flushes--;
    this.hooks.flushed();
  }

  private async write(queue: string, batch: Pending[], starts: StartPending[]): Promise<void> {
    const now = this.now();
    const events = this.hooks.taskEvents();
    const argv = finishHeader(this.config, this.keys, now, starts.length, this.node, events);
    for (const { job, waits } of starts) argv.push(...startRequest(job, waits));
    for (const item of batch) argv.push(...this.entry(item, now, events));
    let reply: string[];
    try {
      reply = (await runScript(this.client, 'taskqFinish', finishKeys(this.keys, queue), argv)) as string[];
    } catch (err) {
      this.retryLater(queue, batch, starts, err as Error);
      return;
    }
    if (this.failures > 0) {
      this.failures = 0;
      this.hooks.trouble(undefined, this.failingSince);
      this.log.warn({ queue }, 'job outcomes are recorded again');
    }
    starts.forEach((s, i) => s.resolve(reply[i] as StartVerdict));
    batch.forEach(({ job, attempt }, i) => {
      this.unrecorded.delete(deliveryEntry(job.token, job.id));
      this.hooks.recorded(job, attempt, CODES[String(reply[starts.length + i])] ?? 'recorded');
    });
  }

  /**
   * One job's finish arguments. An outcome that cannot be encoded (a record nested too deep to
   * re-encode, say) fails that job alone, with its record kept unchanged for the dead-letter list.
   */
  private entry(item: Pending, now: number, events: boolean): Array<string | number> {
    const { job } = item;
    const ctx = { config: this.config, events, keys: this.keys, node: this.node, now, startedAt: job.startedAt, raw: job.raw };
    try {
      return finishEntry(item.attempt, job.token, ctx);
    } catch (err) {
      const cause = toError(err);
      const error = new TaskqError(
        'TASKQ_MESSAGE_INVALID',
        `the outcome of job ${job.id} (${item.attempt.taskName}) could not be encoded: ${cause.message}. ` +
          'The job is failed and kept unchanged in the dead-letter list (`taskq dead ls`).',
        { cause },
      );
      this.log.error({ err: cause, jobId: job.id }, 'job outcome could not be encoded; the job is failed');
      item.attempt = { ...item.attempt, record: undefined, outcome: { kind: 'failure', error: errorInfo(error), reason: 'unrecordable outcome' } };
      return finishEntry(item.attempt, job.token, ctx);
    }
  }

  /** The jobs stay unrecorded (kept alive, still owned) and go with a later flush. */
  private retryLater(queue: string, batch: Pending[], starts: StartPending[], err: Error): void {
    if (this.failures++ === 0) this.failingSince = Date.now();
    const delayMs = Math.min(100 * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
    this.log.error({ err, queue, jobs: batch.map((b) => b.job.id), retryInMs: delayMs }, 'could not record job outcomes; retrying (the jobs stay owned by this node)');
    this.hooks.trouble(err, this.failingSince);
    this.flushes++;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      for (const item of batch) push(this.pending, queue, item);
      for (const item of starts) push(this.starts, queue, item);
      this.flushes--;
      this.schedule();
    }, delayMs);
    this.retries.set(timer, batch);
  }

  private readonly retries = new Map<NodeJS.Timeout, Pending[]>();

  /**
   * Stops retrying (the node is closing): outcomes still unwritten are left to the stall check, which
   * re-delivers their jobs (still in `active`) once this node is gone. Returns how many were left.
   */
  abandon(): number {
    let left = 0;
    for (const [timer, batch] of this.retries) {
      clearTimeout(timer);
      left += batch.length;
      for (const { job } of batch) this.unrecorded.delete(deliveryEntry(job.token, job.id));
      this.flushes--;
    }
    this.retries.clear();
    if (left) this.log.warn({ jobs: left }, 'closing with outcomes Redis refused to record: the stall check will re-deliver those jobs');
    return left;
  }
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
