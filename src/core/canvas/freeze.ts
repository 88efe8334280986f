/**
 * Freezing a canvas when it is sent: every task gets its id, queue and priority (the app's routes and
 * the task's own options, as for a single send), call options are checked, and the result is put in
 * the normal form of frozen.ts. Cyclic, absurdly deep or absurdly large canvases are refused here.
 */
import { assertQueueName } from '../../broker/keys.js';
import { show, TaskqError } from '../../errors.js';
import { JobTemplate } from '../job-template.js';
import { normalizeBackoff, normalizeRetries } from '../retry-policy.js';
import type { Router } from '../routing.js';
import { normalizePriority, normalizeTimeLimit, type TaskDefinition } from '../task.js';
import { resolveTiming } from '../timing.js';
import { Chain, Chord, Group, list, Signature, type Canvas, type Kwargs, type SignatureOptions } from './canvas.js';
import { asBody, asMember, attach, PASS_TASK, type FrozenCallOptions, type FrozenNode, type FrozenSig } from './frozen.js';

/** Deepest nesting of canvases accepted (a cycle hits it too). */
export const MAX_CANVAS_DEPTH = 32;
/** Most tasks one canvas may hold. */
export const MAX_CANVAS_TASKS = 100_000;
/** Most steps in one chain (each handle follows its parents; Celery's own chains hit Python's recursion limit near here). */
export const MAX_CHAIN_STEPS = 1000;

export interface FreezeContext {
  router: Router;
  /** The app's tasks: a name it does not know is refused when it knows any. */
  tasks: ReadonlyMap<string, TaskDefinition>;
  newId: () => string;
  now: number;
}

export function canvasError(message: string): TaskqError {
  return new TaskqError('TASKQ_CANVAS_INVALID', message, { exitCode: 64 });
}

/** The canvas with the call's args, kwargs and options placed where Celery places them. */
function place(c: Canvas, args: readonly unknown[], kwargs: Kwargs, options: SignatureOptions, depth = 0): Canvas {
  if (depth > MAX_CANVAS_DEPTH) throw canvasError(`canvas nested more than ${MAX_CANVAS_DEPTH} deep (or cyclic: a canvas that contains itself): flatten it`);
  const { link, linkError, ...rest } = options;
  const sender = (c as unknown as { sender: never }).sender;
  if (c instanceof Signature) return c.clone(args, kwargs, options);
  if (c instanceof Chain) {
    const steps = c.tasks.map((t, i) => {
      let s = i === 0 ? place(t, args, kwargs, rest, depth + 1) : t;
      if (linkError !== undefined) s = place(s, [], {}, { linkError }, depth + 1);
      if (link !== undefined && i === c.tasks.length - 1) s = place(s, [], {}, { link }, depth + 1);
      return s;
    });
    return new Chain(sender, steps);
  }
  if (c instanceof Group) return new Group(sender, c.tasks.map((t) => place(t, args, kwargs, options, depth + 1)));
  if (c instanceof Chord) {
    const callbacks: SignatureOptions = {};
    if (link !== undefined) callbacks.link = link;
    if (linkError !== undefined) callbacks.linkError = linkError;
    return new Chord(sender, c.header.map((t) => place(t, args, kwargs, rest, depth + 1)), Object.keys(callbacks).length ? place(c.body, [], {}, callbacks, depth + 1) : c.body);
  }
  throw canvasError(`not a canvas: ${show(c)}`);
}

class Freezer {
  private tasks = 0;
  private readonly ids = new Set<string>();
  /** The app registers tasks of its own (not only the built-in ones): it knows its tasks. */
  private readonly strict: boolean;
  constructor(private readonly fc: FreezeContext) {
    this.strict = [...fc.tasks.keys()].some((name) => name !== PASS_TASK);
  }

  node(c: Canvas, depth: number): FrozenNode {
    if (depth > MAX_CANVAS_DEPTH) throw canvasError(`canvas nested more than ${MAX_CANVAS_DEPTH} deep (or cyclic: a canvas that contains itself): flatten it`);
    if (c instanceof Signature) return this.sig(c, depth);
    if (c instanceof Chain) {
      const flat = this.flatten(c.tasks, depth);
      if (flat.length > MAX_CHAIN_STEPS) throw canvasError(`a chain may have at most ${MAX_CHAIN_STEPS} steps, this one has ${flat.length}: use a group or a chord for fan-out, or chain chains from a task`);
      const steps = flat.map((t) => this.node(t, depth + 1));
      if (steps.length === 0) throw canvasError('a chain needs at least one task');
      return attach(steps[0] as FrozenNode, steps.slice(1), this.fc.newId);
    }
    if (c instanceof Group) return { group: c.tasks.map((t) => this.node(t, depth + 1)), id: this.fc.newId() };
    if (c instanceof Chord) {
      const id = this.fc.newId();
      const header = c.header.map((t, i) => asMember(this.node(t, depth + 1), { id, i }, this.fc.newId));
      return { chord: header, body: asBody(this.node(c.body, depth + 1), this.fc.newId), id };
    }
    throw canvasError(`not a signature or canvas: ${show(c)} (use task.s(...), chain, group or chord)`);
  }

  /** A chain's steps with nested chains spliced in. */
  private flatten(steps: readonly Canvas[], depth: number): Canvas[] {
    if (depth > MAX_CANVAS_DEPTH) throw canvasError(`canvas nested more than ${MAX_CANVAS_DEPTH} deep (or cyclic): flatten it`);
    return steps.flatMap((s) => (s instanceof Chain ? this.flatten(s.tasks, depth + 1) : [s]));
  }

  private sig(s: Signature, depth: number): FrozenSig {
    const { fc } = this;
    if (++this.tasks > MAX_CANVAS_TASKS) throw canvasError(`a canvas may hold at most ${MAX_CANVAS_TASKS} tasks: send it in parts`);
    const def = fc.tasks.get(s.task);
    if (!def && this.strict) {
      throw new TaskqError('TASKQ_TASK_UNKNOWN', `signature of unknown task ${JSON.stringify(s.task)}: this app registers no such task (check the name, or send it from an app that does not register tasks)`, { exitCode: 64 });
    }
    const o = s.options;
    const where = `${s.task}.s()`;
    const queue = fc.router.route(s.task, def?.queue, o.queue);
    assertQueueName(queue, `the queue of ${s.task}`);
    const priority = normalizePriority(o.priority, `${where}: priority`) ?? def?.priority ?? fc.router.priority(s.task);
    const out: FrozenSig = { task: s.task, id: o.jobId === undefined ? fc.newId() : JobTemplate.checkJobId(s.task, o.jobId), queue, args: [...s.args] };
    // One id, one job: a second task with the same id would never run (and a chord would wait for it forever).
    if (this.ids.has(out.id)) throw canvasError(`task id ${JSON.stringify(out.id)} appears twice in this canvas: give each task its own jobId (or none)`);
    this.ids.add(out.id);
    if (priority === 'high' || priority === 'low') out.priority = priority;
    if (Object.keys(s.kwargs).length > 0) out.kwargs = { ...s.kwargs };
    if (s.immutable) out.immutable = true;
    const options = this.options(o, def, where);
    if (Object.keys(options).length > 0) out.options = options;
    const link = list(o.link).map((l) => this.node(l, depth + 1));
    const linkError = list(o.linkError).map((l) => this.node(l, depth + 1));
    if (link.length) out.link = link;
    if (linkError.length) out.linkError = linkError;
    return out;
  }

  private options(o: SignatureOptions, def: TaskDefinition | undefined, where: string): FrozenCallOptions {
    const out: FrozenCallOptions = {};
    resolveTiming(o, this.fc.now); // checks them
    if (o.countdown !== undefined) out.countdown = o.countdown;
    if (o.eta !== undefined) out.eta = new Date(o.eta).getTime();
    if (typeof o.expires === 'number') out.expires = o.expires;
    else if (o.expires !== undefined) out.expiresAt = o.expires.getTime();
    const retries = normalizeRetries(o.retries, where);
    if (retries !== undefined) out.retries = retries;
    const backoff = normalizeBackoff(o.backoff, where);
    if (backoff) out.backoff = backoff;
    if (o.ignoreResult ?? def?.ignoreResult) out.ignoreResult = true;
    const hard = normalizeTimeLimit(o.timeLimitMs, `${where}: timeLimitMs`);
    if (hard !== undefined) out.timeLimitMs = hard;
    const soft = normalizeTimeLimit(o.softTimeLimitMs, `${where}: softTimeLimitMs`);
    if (soft !== undefined) out.softTimeLimitMs = soft;
    if ((o.acksLate ?? def?.acksLate) === false) out.acksLate = false;
    return out;
  }
}

/** Freezes `canvas` sent with these args, kwargs and options. */
export function freezeCanvas(canvas: Canvas, args: readonly unknown[], kwargs: Kwargs, options: SignatureOptions, fc: FreezeContext): FrozenNode {
  if (!Array.isArray(args)) throw canvasError(`applyAsync: args must be an array, got ${show(args)}`);
  if (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw canvasError(`applyAsync: kwargs must be an object, got ${show(kwargs)}`);
  return new Freezer(fc).node(place(canvas, args, kwargs, options), 0);
}
