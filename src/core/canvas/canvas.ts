/**
 * The canvas, as in Celery: signatures (`task.s()`, `task.si()`), `chain`, `group` and `chord`. Each
 * is a description until it is sent; `.delay()` / `.applyAsync()` send it whole and return its
 * handle (an AsyncResult, or a GroupResult for a group).
 */
import { OptionError, show } from '../../errors.js';
import { refuseUnknownOptions } from '../option-names.js';
import type { AsyncResult } from '../async-result.js';
import type { GroupResult } from '../group-result.js';
import type { ApplyOptions } from '../task.js';

/** A signature's options: a call's options plus callbacks. */
export interface SignatureOptions extends ApplyOptions {
  /** Applied with this task's value once it succeeds (Celery's `link`). */
  link?: Canvas | readonly Canvas[];
  /** Applied with `{ id, task, error: { name, message } }` once it fails for good (Celery's `link_error`). */
  linkError?: Canvas | readonly Canvas[];
}

export type Kwargs = Record<string, unknown>;

/** What sends canvases (the app). */
export interface CanvasSender {
  applyCanvas(canvas: Canvas, args: unknown[], kwargs: Kwargs, options: SignatureOptions): Promise<AsyncResult | GroupResult>;
}

export type Canvas = Signature | Chain | Group | Chord;

abstract class CanvasBase<H> {
  constructor(protected readonly sender: CanvasSender) {}

  /** Sends it; `args` are prepended to the first task's (each header task's, each member's). */
  delay(...args: unknown[]): Promise<H> {
    return this.applyAsync(args);
  }

  /** Sends it with arguments, keyword arguments and call options (applied where `args` go; `link` to its last task). */
  applyAsync(args: unknown[] = [], kwargs?: Kwargs | null, options?: SignatureOptions): Promise<H> {
    try {
      const kw = callKwargs('applyAsync', kwargs, options);
      return this.sender.applyCanvas(this as unknown as Canvas, args, kw, options ?? {}) as Promise<H>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** This, then `next` (with this one's value): `a.pipe(b, c)` is `chain(a, b, c)`. */
  pipe(...next: Canvas[]): Chain {
    return new Chain(this.sender, [this as unknown as Canvas, ...next]);
  }
}

/** One task call, partially or fully described (Celery's signature). */
export class Signature<R = unknown> extends CanvasBase<AsyncResult<R>> {
  constructor(
    sender: CanvasSender,
    readonly task: string,
    readonly args: readonly unknown[] = [],
    readonly kwargs: Readonly<Kwargs> = {},
    readonly options: Readonly<SignatureOptions> = {},
    /** The previous step's value is not prepended (Celery's `si()`). */
    readonly immutable = false,
  ) {
    super(sender);
    if (!Array.isArray(args)) throw new OptionError(`signature of ${task}: args must be an array, got ${typeof args}`);
    if (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new OptionError(`signature of ${task}: kwargs must be an object`);
  }

  /** A copy with these options merged in (Celery's `.set()`). */
  set(options: SignatureOptions): Signature<R> {
    refuseUnknownOptions(options, OPTION_NAMES, `${this.task}.set`);
    return new Signature<R>(this.sender, this.task, this.args, this.kwargs, { ...this.options, ...options }, this.immutable);
  }

  /** A copy with more arguments (prepended, as Celery's partials), keyword arguments and options. */
  clone(args: readonly unknown[] = [], kwargs: Kwargs = {}, options: SignatureOptions = {}): Signature<R> {
    const merged: SignatureOptions = { ...this.options, ...options };
    const link = [...list(this.options.link), ...list(options.link)];
    const linkError = [...list(this.options.linkError), ...list(options.linkError)];
    if (link.length) merged.link = link;
    if (linkError.length) merged.linkError = linkError;
    return new Signature<R>(this.sender, this.task, this.immutable ? this.args : [...args, ...this.args], { ...this.kwargs, ...kwargs }, merged, this.immutable);
  }

  /** A copy that also applies `callback` with this task's value (Celery's `.link()`). */
  link(callback: Canvas): Signature<R> {
    return this.clone([], {}, { link: callback });
  }

  /** A copy that also applies `errback` if this task fails for good (Celery's `.link_error()`). */
  linkError(errback: Canvas): Signature<R> {
    return this.clone([], {}, { linkError: errback });
  }
}

/** Tasks one after another, each given the previous one's value first (Celery's `chain`). */
export class Chain<R = unknown> extends CanvasBase<AsyncResult<R>> {
  constructor(
    sender: CanvasSender,
    readonly tasks: readonly Canvas[],
  ) {
    super(sender);
  }
}

/** Tasks side by side; the handle's `get()` gives their values in order (Celery's `group`). */
export class Group<R = unknown> extends CanvasBase<GroupResult<R>> {
  constructor(
    sender: CanvasSender,
    readonly tasks: readonly Canvas[],
  ) {
    super(sender);
  }
}

/** A group whose values, in order, go to `body` once all succeeded (Celery's `chord`). */
export class Chord<R = unknown> extends CanvasBase<AsyncResult<R>> {
  constructor(
    sender: CanvasSender,
    readonly header: readonly Canvas[],
    readonly body: Canvas,
  ) {
    super(sender);
  }
}

/** Call options by name: what `applyAsync`'s third argument takes. */
const OPTION_NAMES: ReadonlySet<string> = new Set(['countdown', 'eta', 'expires', 'queue', 'jobId', 'retries', 'backoff', 'ignoreResult', 'timeLimitMs', 'softTimeLimitMs', 'priority', 'retryPolicy', 'acksLate', 'link', 'linkError']);

/**
 * A call's keyword arguments (Celery's order: args, kwargs, options; `null`/`undefined` = none).
 * Call options passed second by mistake are refused with the fix: a signature among them always,
 * and keys that are all option names when no options follow (pass options, even `{}`, to mean them as kwargs).
 */
export function callKwargs(where: string, kwargs: unknown, options: unknown): Kwargs {
  if (options !== null && typeof options === 'object') refuseUnknownOptions(options, OPTION_NAMES, where);
  if (kwargs === undefined || kwargs === null) return {};
  if (typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new OptionError(`${where}: kwargs (the second argument) must be an object, got ${show(kwargs)}; call options go third: applyAsync(args, {}, options)`);
  const keys = Object.keys(kwargs);
  for (const key of keys) {
    if ((kwargs as Kwargs)[key] instanceof CanvasBase) {
      throw new OptionError(`${where}: kwargs.${key} is a signature — the second argument is keyword arguments; callbacks go in the options, third: applyAsync(args, {}, { ${key}: … })`);
    }
  }
  if (options === undefined && keys.length > 0 && keys.every((k) => OPTION_NAMES.has(k))) {
    throw new OptionError(
      `${where}: the second argument is keyword arguments (Celery's order: args, kwargs, options), but ${keys.join(', ')} ${keys.length > 1 ? 'are call options' : 'is a call option'}: ` +
        `pass options third — applyAsync(args, {}, { ${keys.join(', ')} }) — or, if the task really takes such keyword arguments, pass the options too (even {})`,
    );
  }
  return kwargs as Kwargs;
}

/** A value or list of them, as a list. */
export function list<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

/** The sender of the first canvas among `items` (canvases made by functions carry their app). */
function senderOf(items: readonly unknown[], what: string): CanvasSender {
  for (const item of items) if (item instanceof CanvasBase) return (item as unknown as { sender: CanvasSender }).sender;
  throw new OptionError(`${what}: give at least one signature (task.s(...)) so the app is known`);
}

function canvases(items: readonly unknown[], what: string): Canvas[] {
  const flat = items.length === 1 && Array.isArray(items[0]) ? (items[0] as unknown[]) : items;
  flat.forEach((item, i) => {
    if (!(item instanceof CanvasBase)) throw new OptionError(`${what}: item ${i} is not a signature or canvas (use task.s(...)), got ${typeof item}`);
  });
  return flat as Canvas[];
}

/** `chain(a, b, c)`: a, then b with a's value, then c with b's. */
export function chain<R = unknown>(...tasks: Array<Canvas | readonly Canvas[]>): Chain<R> {
  const list = canvases(tasks, 'chain');
  if (list.length === 0) throw new OptionError('chain: give at least one signature');
  return new Chain<R>(senderOf(list, 'chain'), list);
}

/** `group(a, b, c)` or `group([a, b, c])`: all at once. */
export function group<R = unknown>(...tasks: Array<Canvas | readonly Canvas[]>): Group<R> {
  const list = canvases(tasks, 'group');
  if (list.length === 0) throw new OptionError('group: give at least one signature (an empty group has no app to send it)');
  return new Group<R>(senderOf(list, 'group'), list);
}

/** `chord(header, body)`: the header (a group or a list) at once, then the body with their values in order. */
export function chord<R = unknown>(header: Group | readonly Canvas[], body: Canvas): Chord<R> {
  const members = header instanceof Group ? header.tasks : canvases([header], 'chord header');
  if (!(body instanceof CanvasBase)) throw new OptionError('chord: the body must be a signature or canvas (use task.s(...))');
  return new Chord<R>(senderOf([body, ...members], 'chord'), members, body);
}
