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
import { OptionError } from './errors.js';
import { encodeJobRecord, type JobRecord } from './message.js';
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
  keys: string[];
  argv: Array<string | number>;
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
    const argsJson = toJson(spec.args, 'args', 'TASKQ_ARGS_UNSERIALIZABLE', `cannot send ${task}`);
    const queue = this.router.route(task, def?.queue, options.queue);
    assertQueueName(queue, `the queue of ${task}`);
    const timing = resolveTiming(options, now);
    if (options.jobId !== undefined && (typeof options.jobId !== 'string' || !/^[^\s]{1,200}$/.test(options.jobId))) {
      throw new OptionError(`${where}: jobId must be 1–200 non-space characters, got ${JSON.stringify(options.jobId)}`);
    }
    const id = options.jobId ?? randomUUID();
    const rec: JobRecord = {
      stalls: 0,
      data: { task, args: JSON.parse(argsJson) as unknown[] },
      options: { v: 1, id, queue, timestamp: now, attempt: 1, stacktraces: [] },
      status: 'created',
    };
    const retries = normalizeRetries(options.retries, where);
    if (retries !== undefined) rec.options.retries = retries;
    const backoff = normalizeBackoff(options.backoff, where);
    if (backoff) rec.options.backoff = backoff;
    if (timing.dueMs) rec.options.eta = timing.dueMs;
    if (timing.expiresMs !== undefined) rec.options.expires = timing.expiresMs;
    if (options.ignoreResult ?? def?.ignoreResult) rec.options.ignoreResult = true;
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
    const k = this.keys;
    return {
      id,
      queue,
      keys: [k.queue(queue, 'jobs'), k.queue(queue, 'waiting'), k.queue(queue, 'delayed'), k.queue(queue, 'earlierDelayed'), k.events],
      argv: [id, encodeJobRecord(rec), timing.dueMs, this.config.eventsMaxLen, event],
    };
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
    const created = (await runScript(client, 'taskqEnqueue', p.keys, p.argv)) === 1;
    return { id: p.id, queue: p.queue, created };
  }

  /** Sends every spec in one pipeline; validation errors are thrown before anything is sent. */
  async sendBulk(specs: SendSpec[]): Promise<Sent[]> {
    const now = Date.now();
    const prepared = specs.map((s) => this.prepare(s, now));
    const client = await this.client();
    const pipeline = client.pipeline();
    for (const p of prepared) {
      this.register(client, p.queue);
      runScript(pipeline, 'taskqEnqueue', p.keys, p.argv);
    }
    const replies = (await pipeline.exec()) ?? [];
    return prepared.map((p, i) => {
      const [err, reply] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return { id: p.id, queue: p.queue, created: reply === 1 };
    });
  }
}
