/**
 * Builds job records and task-sent events for one task and one set of call options. Everything that
 * does not depend on the arguments (queue, timing, retry options, the JSON around them) is computed
 * once, so a bulk send of thousands of calls pays per call only for its arguments and its id.
 * The record text is exactly what encodeJobRecord() makes for the same job (a unit test holds it to that).
 */
import { assertQueueName } from '../broker/keys.js';
import { OptionError } from '../errors.js';
import type { JobOptions } from '../broker/message.js';
import { normalizeBackoff, normalizeRetries } from './retry-policy.js';
import type { Router } from './routing.js';
import { toJson } from './serialize.js';
import { normalizePriority, normalizeTimeLimit, type ApplyOptions, type Priority, type TaskDefinition } from './task.js';
import { resolveTiming } from './timing.js';

/** Job ids become part of Redis keys and channels: a safe alphabet (UUIDs, "order-42", "user:7/thumb"). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.:@/+=-]{1,200}$/;

/** How much of the arguments a task-sent event carries. */
const ARGS_PREVIEW = 512;

function isPlain(value: unknown): boolean {
  const t = typeof value;
  return value === null || t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(value));
}

/** A plain value, or an object literal of plain values (`{id: 7, url: "…"}`): JSON carries it faithfully as it is. */
function isFlat(value: unknown): boolean {
  if (isPlain(value)) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (!isPlain((value as Record<string, unknown>)[key])) return false;
  return true;
}

export class JobTemplate {
  readonly queue: string;
  readonly dueMs: number;
  readonly priority: Priority;
  /** The record up to its send time, and from there up to the arguments: everything else is the same for every call. */
  private readonly recordHead = '{"stalls":0,"options":{"v":1,"timestamp":';
  private readonly recordMid: string;
  /** The send time the template was made for (a template without relative times may be used later: see {@link reusable}). */
  private readonly now: number;
  /** No option depends on the time of the call (countdown, eta, expires): the template serves later calls too. */
  readonly reusable: boolean;
  private readonly eventHead: string | undefined;
  private readonly eventTail: string;

  constructor(
    readonly task: string,
    def: TaskDefinition | undefined,
    options: ApplyOptions,
    router: Router,
    now: number,
    events: boolean,
  ) {
    const where = `${task}.applyAsync`;
    this.queue = router.route(task, def?.queue, options.queue);
    assertQueueName(this.queue, `the queue of ${task}`);
    const timing = resolveTiming(options, now);
    this.dueMs = timing.dueMs;
    this.priority = normalizePriority(options.priority, `${where}: priority`) ?? def?.priority ?? router.priority(task) ?? 'normal';
    this.now = now;
    this.reusable = !timing.dueMs && timing.expiresMs === undefined;
    // `v` and `timestamp` lead the options (encodeJobRecord's order); the timestamp is the call's own.
    const jobOptions: Omit<JobOptions, 'v' | 'timestamp'> = { attempt: 1 };
    const retries = normalizeRetries(options.retries, where);
    if (retries !== undefined) jobOptions.retries = retries;
    const backoff = normalizeBackoff(options.backoff, where);
    if (backoff) jobOptions.backoff = backoff;
    if (timing.dueMs) jobOptions.eta = timing.dueMs;
    if (timing.expiresMs !== undefined) jobOptions.expires = timing.expiresMs;
    if (this.priority !== 'normal') jobOptions.priority = this.priority;
    if (options.ignoreResult ?? def?.ignoreResult) jobOptions.ignoreResult = true;
    const timeLimitMs = normalizeTimeLimit(options.timeLimitMs, `${where}: timeLimitMs`);
    if (timeLimitMs !== undefined) jobOptions.timeLimitMs = timeLimitMs;
    const softTimeLimitMs = normalizeTimeLimit(options.softTimeLimitMs, `${where}: softTimeLimitMs`);
    if (softTimeLimitMs !== undefined) jobOptions.softTimeLimitMs = softTimeLimitMs;
    if (options.acksLate !== undefined && typeof options.acksLate !== 'boolean') throw new OptionError(`${where}: acksLate must be true or false, got ${JSON.stringify(options.acksLate)}`);
    if ((options.acksLate ?? def?.acksLate) === false) jobOptions.acksLate = false;
    const taskJson = JSON.stringify(task);
    this.recordMid = `,${JSON.stringify(jobOptions).slice(1)},"data":{"task":${taskJson},"args":`;
    if (events) {
      this.eventHead = `","task":${taskJson},"queue":${JSON.stringify(this.queue)},"args":`;
      this.eventTail = `${timing.dueMs ? `,"eta":${timing.dueMs}` : ''}${timing.expiresMs ? `,"expires":${timing.expiresMs}` : ''}}`;
    } else {
      this.eventTail = '';
    }
  }

  /** Validates a job id given by the caller. */
  static checkJobId(task: string, jobId: unknown): string {
    if (typeof jobId !== 'string' || !JOB_ID_PATTERN.test(jobId)) {
      throw new OptionError(`${task}.applyAsync: jobId must be 1–200 of letters, digits and _ . : @ / + = -, got ${JSON.stringify(jobId)}`);
    }
    return jobId;
  }

  /**
   * The enqueue script's 4 arguments for one call: id, record, due time, task-sent event. `dataTail`
   * (JSON members, each led by a comma) follows the arguments in `data`: kwargs, the canvas around the job.
   * `where` names the call in errors (default "<task>.applyAsync"); `now` is the send time, for a
   * {@link reusable} template used after the time it was made for.
   */
  build(args: unknown[], id: string, where: string | undefined, dataTail = '', now = this.now): Array<string | number> {
    if (!Array.isArray(args)) throw new OptionError(`${where ?? `${this.task}.applyAsync`}: args must be an array, got ${typeof args}`);
    // Fast path: plain values and flat object literals of them need no walk to be sent faithfully.
    const argsJson = args.every(isFlat) ? JSON.stringify(args) : toJson(args, 'args', 'TASKQ_ARGS_UNSERIALIZABLE', `cannot send ${this.task}`);
    const record = `${this.recordHead}${now}${this.recordMid}${argsJson}${dataTail}}}`;
    const event =
      this.eventHead === undefined
        ? ''
        : `{"id":"${id}${this.eventHead}${JSON.stringify(argsJson.length > ARGS_PREVIEW ? `${argsJson.slice(0, ARGS_PREVIEW)}…` : argsJson)}${this.eventTail}`;
    return [id, record, this.dueMs, event];
  }
}
