/**
 * Sends jobs: builds the job record, validates arguments and options at the call site, and runs the
 * enqueue script (record + waiting/delayed + task-sent event in one round trip; bulk sends pipeline it).
 */
import { randomUUID } from 'node:crypto';
import type { Keys } from '../broker/keys.js';
import { assertQueueName } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';
import type { AppConfig } from './config.js';
import { OptionError, TaskqError } from './errors.js';
import type { JobOptions } from './message.js';
import { normalizeBackoff, normalizeRetries } from './retry-policy.js';
import type { Router } from './routing.js';
import { toJson } from './serialize.js';
import type { ApplyOptions, TaskDefinition } from './task.js';
import { resolveTiming } from './timing.js';

export interface SendSpec {
  task: string;
  /** The task's own options when this process knows the task; undefined when sending by name. */
  def: TaskDefinition | undefined;
  args: unknown[];
  options: ApplyOptions;
}

export interface Sent {
  id: string;
  queue: string;
  /** False when a job with this id was already queued (nothing was sent). */
  created: boolean;
}

interface Prepared {
  id: string;
  queue: string;
  /** The job's 4 arguments to the enqueue script: id, record, due time, task-sent event. */
  entry: Array<string | number>;
}

/** Job ids become part of Redis keys and channels: a safe alphabet (UUIDs, "order-42", "user:7/thumb"). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.:@/+=-]{1,200}$/;

/** Most jobs one enqueue script call stores (bulk sends are split). */
const ENQUEUE_BATCH = 500;

function isPlain(value: unknown): boolean {
  const t = typeof value;
  return value === null || t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value));
}

const ARGS_PREVIEW = 512;

export class Producer {
  private readonly knownQueues = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: Keys,
    private readonly router: Router,
    private readonly client: () => Promise<Redis>,
  ) {}

  private prepare(spec: SendSpec, now: number): Prepared {
    const { task, def, options } = spec;
    const where = `${task}.applyAsync`;
    if (!Array.isArray(spec.args)) throw new OptionError(`${where}: args must be an array, got ${typeof spec.args}`);
    // Fast path: flat arguments of plain values need no walk to be sent faithfully.
    const argsJson = spec.args.every(isPlain)
      ? JSON.stringify(spec.args)
      : toJson(spec.args, 'args', 'TASKQ_ARGS_UNSERIALIZABLE', `cannot send ${task}`);
    const queue = this.router.route(task, def?.queue, options.queue);
    assertQueueName(queue, `the queue of ${task}`);
    const timing = resolveTiming(options, now);
    if (options.jobId !== undefined && (typeof options.jobId !== 'string' || !JOB_ID_PATTERN.test(options.jobId))) {
      throw new OptionError(`${where}: jobId must be 1–200 of letters, digits and _ . : @ / + = -, got ${JSON.stringify(options.jobId)}`);
    }
    const id = options.jobId ?? randomUUID();
    const jobOptions: JobOptions = { v: 1, id, queue, timestamp: now, attempt: 1, stacktraces: [] };
    const retries = normalizeRetries(options.retries, where);
    if (retries !== undefined) jobOptions.retries = retries;
    const backoff = normalizeBackoff(options.backoff, where);
    if (backoff) jobOptions.backoff = backoff;
    if (timing.dueMs) jobOptions.eta = timing.dueMs;
    if (timing.expiresMs !== undefined) jobOptions.expires = timing.expiresMs;
    if (options.ignoreResult ?? def?.ignoreResult) jobOptions.ignoreResult = true;
    // The same text encodeJobRecord() makes, without parsing the arguments back just to re-encode them.
    const record = `{"stalls":0,"data":{"task":${JSON.stringify(task)},"args":${argsJson}},"options":${JSON.stringify(jobOptions)},"status":"created"}`;
    const event = this.config.events
      ? JSON.stringify({
          id,
          task,
          queue,
          args: argsJson.length > ARGS_PREVIEW ? `${argsJson.slice(0, ARGS_PREVIEW)}…` : argsJson,
          ...(timing.dueMs ? { eta: timing.dueMs } : {}),
          ...(timing.expiresMs ? { expires: timing.expiresMs } : {}),
        })
      : '';
    return { id, queue, entry: [id, record, timing.dueMs, event] };
  }

  private enqueueKeys(queue: string): string[] {
    const k = this.keys;
    return [k.queue(queue, 'jobs'), k.queue(queue, 'waiting'), k.queue(queue, 'delayed'), k.queue(queue, 'earlierDelayed'), k.events];
  }

  private register(client: Redis, queue: string): void {
    if (this.knownQueues.has(queue)) return;
    this.knownQueues.add(queue);
    client.sadd(this.keys.queues, queue).catch(() => this.knownQueues.delete(queue));
  }

  async send(spec: SendSpec): Promise<Sent> {
    const p = this.prepare(spec, Date.now());
    const client = await this.client();
    this.register(client, p.queue);
    const reply = (await runScript(client, 'taskqEnqueue', this.enqueueKeys(p.queue), [this.config.eventsMaxLen, ...p.entry])) as number[];
    return { id: p.id, queue: p.queue, created: reply[0] === 1 };
  }

  /**
   * Sends every spec, a few script calls for the lot (one per queue and 500 jobs). Validation errors
   * are thrown before anything is sent. If a call fails, the error says which jobs were stored.
   */
  async sendBulk(specs: SendSpec[]): Promise<Sent[]> {
    const now = Date.now();
    const prepared = specs.map((s) => this.prepare(s, now));
    const client = await this.client();
    const byQueue = new Map<string, Prepared[]>();
    for (const p of prepared) {
      const list = byQueue.get(p.queue);
      if (list) list.push(p);
      else byQueue.set(p.queue, [p]);
    }
    const created = new Map<string, boolean>();
    const calls: Promise<void>[] = [];
    for (const [queue, list] of byQueue) {
      this.register(client, queue);
      for (let i = 0; i < list.length; i += ENQUEUE_BATCH) {
        const batch = list.slice(i, i + ENQUEUE_BATCH);
        const argv: Array<string | number> = [this.config.eventsMaxLen];
        for (const p of batch) argv.push(...p.entry);
        calls.push(
          runScript(client, 'taskqEnqueue', this.enqueueKeys(queue), argv).then((reply) => {
            (reply as number[]).forEach((flag, j) => created.set((batch[j] as Prepared).id, flag === 1));
          }),
        );
      }
    }
    const results = await Promise.allSettled(calls);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const stored = prepared.filter((p) => created.has(p.id)).length;
      throw new TaskqError('TASKQ_BROKER_UNAVAILABLE', `bulk send stored ${stored} of ${prepared.length} jobs before failing: ${(failed.reason as Error).message}`, {
        cause: failed.reason,
        exitCode: 69,
      });
    }
    return prepared.map((p) => ({ id: p.id, queue: p.queue, created: created.get(p.id) ?? false }));
  }
}
