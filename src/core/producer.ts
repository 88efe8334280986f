/**
 * Sends jobs: builds the job record, validates arguments and options at the call site, and runs the
 * enqueue script (record + waiting/delayed + task-sent event in one round trip; up to 500 jobs a call,
 * for a bulk send or for single sends started together).
 */
import { randomUUID } from 'node:crypto';
import type { Keys } from '../broker/keys.js';
import type { Redis } from '../broker/redis-factory.js';
import { ScriptSender } from '../broker/script-sender.js';
import { brokerError } from '../broker/broker-errors.js';
import type { AppConfig } from './config.js';
import type { Router } from './routing.js';
import type { ApplyOptions, TaskDefinition } from './task.js';
import { JobTemplate } from './job-template.js';
import type { Plan } from './canvas/plan.js';
import { OptionError, show } from '../errors.js';
import { normalizePublishPolicy, whenConnected, type PublishPolicy } from './publish-policy.js';
import { toJson } from './serialize.js';

export interface SendSpec {
  task: string;
  /** The task's own options when this process knows the task; undefined when sending by name. */
  def: TaskDefinition | undefined;
  args: unknown[];
  /** Keyword arguments (none when empty). */
  kwargs?: Record<string, unknown>;
  options: ApplyOptions;
}

export interface Sent {
  id: string;
  queue: string;
  /** False when a job with this id was already queued (nothing was sent). */
  created: boolean;
}

/** Most jobs one enqueue script call stores (bulk sends are split). */
const ENQUEUE_BATCH = 500;
/** Most queues and tasks whose keys and templates a producer keeps (names sent by name may be many). */
const CACHE_LIMIT = 1000;

function isEmpty(options: object): boolean {
  for (const _ in options) return false;
  return true;
}

/** What the sends sharing one enqueue call have in common. */
interface Batch {
  queue: string;
  priority: string;
  /** The result key prefix when the caller chose the ids ("" otherwise). */
  custom: string;
  policy: PublishPolicy;
}

interface PendingSend {
  task: string;
  entry: Array<string | number>;
  resolve: (created: boolean) => void;
  reject: (err: Error) => void;
}

export class Producer {
  private readonly knownQueues = new Set<string>();
  /** Sends queued in this burst, by queue, priority and id kind (enqueue.lua takes one of each a call). */
  private readonly pending = new Map<string, Batch & { items: PendingSend[] }>();
  private flushQueued = false;
  private readonly scripts = new ScriptSender();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: Keys,
    private readonly router: Router,
    private readonly client: () => Promise<Redis>,
    /** The broker, as error messages name it (password masked). */
    private readonly where = 'the broker',
  ) {}

  /** Runs a send once the connection is up, waiting out an outage as `policy` allows (nothing is queued offline). `what` names it in errors. */
  private publish<T>(client: Redis, policy: PublishPolicy, what: () => string, call: () => Promise<T>): Promise<T> {
    // Connected (the usual case): no extra turn of the event loop before the command goes out.
    if (client.status === 'ready') return call();
    return whenConnected(client, policy, what(), this.where).then(call);
  }

  /** The app's connection, kept once made (`this.connected ?? await this.connection()` costs no turn of the event loop then). */
  private connection(): Promise<Redis> {
    return this.client().then((c) => (this.connected = c));
  }

  private connected: Redis | undefined;

  private policy(options: ApplyOptions, where: string): PublishPolicy {
    return normalizePublishPolicy(options.retryPolicy, this.config.publishRetryPolicy, where);
  }

  private enqueueKeys(queue: string): string[] {
    let keys = this.queueKeys.get(queue);
    if (!keys) {
      const k = this.keys;
      keys = [k.queue(queue, 'jobs'), k.queue(queue, 'waiting'), k.queue(queue, 'delayed'), k.queue(queue, 'earlierDelayed'), k.events, k.revoked];
      if (this.queueKeys.size < CACHE_LIMIT) this.queueKeys.set(queue, keys);
    }
    return keys;
  }

  private readonly queueKeys = new Map<string, string[]>();

  /** The two keys of enqueue-one.lua: the queue's jobs and waiting. */
  private enqueueOneKeys(queue: string): string[] {
    let keys = this.oneKeys.get(queue);
    if (!keys) {
      keys = this.enqueueKeys(queue).slice(0, 2);
      if (this.oneKeys.size < CACHE_LIMIT) this.oneKeys.set(queue, keys);
    }
    return keys;
  }

  private readonly oneKeys = new Map<string, string[]>();

  /**
   * The template of a call: a call without options to a task sent before reuses that one's (it
   * depends on nothing but the task and the app), so a loop of delay() builds only each record.
   */
  private template(spec: SendSpec, now: number): JobTemplate {
    const plain = isEmpty(spec.options);
    const kept = plain ? this.plainTemplates.get(spec.task) : undefined;
    if (kept && kept.def === spec.def) return kept.template;
    const template = new JobTemplate(spec.task, spec.def, spec.options, this.router, now, this.config.events && this.config.sentEvents);
    if (plain && template.reusable && this.plainTemplates.size < CACHE_LIMIT) this.plainTemplates.set(spec.task, { def: spec.def, template });
    return template;
  }

  private readonly plainTemplates = new Map<string, { def: TaskDefinition | undefined; template: JobTemplate }>();

  private register(client: Redis, queue: string): void {
    if (this.knownQueues.has(queue)) return;
    this.knownQueues.add(queue);
    client.sadd(this.keys.queues, queue).catch(() => this.knownQueues.delete(queue));
  }

  /**
   * Sends one job; the promise resolves with `as(sent)`. Not an async function, on purpose: a delay()
   * awaited in a loop waits for every promise hop between the reply and its caller, so the reply
   * resolves the caller's promise directly, with what the caller wants made of it.
   */
  send<T = Sent>(spec: SendSpec, as: (sent: Sent) => T = (sent) => sent as T): Promise<T> {
    let template: JobTemplate, id: string, entry: Array<string | number>, policy: PublishPolicy;
    try {
      const now = Date.now();
      template = this.template(spec, now);
      id = spec.options.jobId === undefined ? randomUUID() : JobTemplate.checkJobId(spec.task, spec.options.jobId);
      entry = template.build(spec.args, id, undefined, kwargsTail(spec.task, spec.kwargs), now);
      policy = spec.options.retryPolicy === undefined ? this.config.publishRetryPolicy : this.policy(spec.options, `${spec.task}.applyAsync`);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.connected;
    if (!client) return this.connection().then(() => this.send(spec, as));
    this.register(client, template.queue);
    const custom = spec.options.jobId === undefined ? '' : this.keys.resultPrefix;
    const queue = template.queue;
    return new Promise<T>((resolve, reject) => {
      const item: PendingSend = { task: spec.task, entry, resolve: (created) => resolve(as({ id, queue, created })), reject };
      const batch: Batch = { queue, priority: template.priority, custom, policy };
      if (!this.flushQueued) {
        // The first send of a turn goes at once: a lone send waits for nothing. Those that follow it
        // in the same turn (100 delay() calls in a Promise.all) share one call per queue and
        // priority at the turn's end.
        this.flushQueued = true;
        process.nextTick(this.flush, client);
        this.sendItems(client, batch, [item]);
        return;
      }
      const key = `${queue}\u0000${template.priority}\u0000${custom}\u0000${spec.options.retryPolicy ? JSON.stringify(policy) : ''}`;
      let pending = this.pending.get(key);
      if (!pending) this.pending.set(key, (pending = { ...batch, items: [] }));
      pending.items.push(item);
    });
  }

  /** Sends what was queued behind the first send of this turn. */
  private readonly flush = (client: Redis): void => {
    this.flushQueued = false;
    if (this.pending.size === 0) return;
    const batches = [...this.pending.values()];
    this.pending.clear();
    for (const b of batches) {
      for (let i = 0; i < b.items.length; i += ENQUEUE_BATCH) this.sendItems(client, b, b.items.slice(i, i + ENQUEUE_BATCH));
    }
  };

  /** One enqueue call for `items` (at most ENQUEUE_BATCH of one queue, priority and id kind). */
  private sendItems(client: Redis, b: Batch, items: PendingSend[]): void {
    if (items.length === 1 && this.sendOne(client, b, items[0] as PendingSend)) return;
    const argv: Array<string | number> = [this.config.eventsMaxLen, b.priority, b.custom];
    for (const item of items) argv.push(...item.entry);
    this.publish(client, b.policy, () => `sending task ${items[0]?.task}`, () => this.scripts.run(client, 'taskqEnqueue', this.enqueueKeys(b.queue), argv)).then(
      (reply) => items.forEach((item, j) => item.resolve((reply as number[])[j] === 1)),
      (err: unknown) => items.forEach((item) => item.reject(brokerError(err, `sending task ${item.task}`))),
    );
  }

  /**
   * A lone send of the commonest kind — normal priority, runnable now, an id taskq chose, no task-sent
   * event — goes with enqueue-one.lua (2 keys, 2 arguments); false for any other, sent as usual.
   */
  private sendOne(client: Redis, b: Batch, item: PendingSend): boolean {
    const [id, record, due, event] = item.entry;
    if (b.priority !== 'normal' || b.custom !== '' || due !== 0 || event !== '') return false;
    const keys = this.enqueueOneKeys(b.queue);
    const argv = [id as string, record as string];
    this.publish(client, b.policy, () => `sending task ${item.task}`, () => this.scripts.run(client, 'taskqEnqueueOne', keys, argv)).then(
      (reply) => item.resolve(reply === 1),
      (err: unknown) => item.reject(brokerError(err, `sending task ${item.task}`)),
    );
    return true;
  }

  /** Closes the producer's own connection once its sends have their answers. */
  close(): Promise<void> {
    return this.scripts.close();
  }

  /**
   * Sends one task with many argument lists, in script calls of 500 jobs. Every call is validated
   * before anything is sent. If a script call fails, the error says how many jobs were stored.
   */
  async sendBulk(task: string, def: TaskDefinition | undefined, argsList: unknown[][], options: ApplyOptions): Promise<Sent[]> {
    const template = new JobTemplate(task, def, options, this.router, Date.now(), this.config.events && this.config.sentEvents);
    const policy = this.policy(options, `${task}.applyBulk`);
    const entries = argsList.map((args, i) => template.build(args, randomUUID(), `${task}.applyBulk (call ${i})`));
    const client = this.connected ?? (await this.connection());
    this.register(client, template.queue);
    const created: boolean[] = new Array<boolean>(entries.length);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += ENQUEUE_BATCH) {
      const batch = entries.slice(i, i + ENQUEUE_BATCH);
      const argv: Array<string | number> = [this.config.eventsMaxLen, template.priority, ''];
      for (const entry of batch) argv.push(...entry);
      calls.push(
        this.publish(client, policy, () => `bulk send of ${task}`, () => this.scripts.run(client, 'taskqEnqueue', this.enqueueKeys(template.queue), argv)).then((reply) => {
          (reply as number[]).forEach((flag, j) => (created[i + j] = flag === 1));
        }),
      );
    }
    const results = await Promise.allSettled(calls);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const stored = created.filter((c) => c !== undefined).length;
      throw brokerError(failed.reason, `bulk send of ${task} (${stored} of ${entries.length} jobs stored)`);
    }
    return entries.map((entry, i) => ({ id: entry[0] as string, queue: template.queue, created: created[i] ?? false }));
  }

  /**
   * Sends a canvas's plan in one script call (apply.lua): every job and every chord of it is stored,
   * or none. `queues` are registered first, so `taskq` commands list them.
   */
  async sendPlan(plan: Plan, queues: Iterable<string>, what: string, options: ApplyOptions = {}): Promise<void> {
    const policy = this.policy(options, `sending ${what}`);
    const client = this.connected ?? (await this.connection());
    for (const queue of queues) this.register(client, queue);
    try {
      await this.publish(client, policy, () => `sending ${what}`, () => this.scripts.run(client, 'taskqApply', [this.keys.events], [this.config.eventsMaxLen, this.config.resultExpiresMs, JSON.stringify(plan)]));
    } catch (err) {
      throw brokerError(err, `sending ${what}`);
    }
  }
}

/** The record's `kwargs` member ("" when there are none); kwargs JSON would change are refused like args. */
export function kwargsTail(task: string, kwargs: Record<string, unknown> | undefined): string {
  if (kwargs === undefined) return '';
  if (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new OptionError(`${task}.applyAsync: kwargs must be an object, got ${show(kwargs)}`);
  if (Object.keys(kwargs).length === 0) return '';
  return `,"kwargs":${toJson(kwargs, 'kwargs', 'TASKQ_ARGS_UNSERIALIZABLE', `cannot send ${task}`)}`;
}
