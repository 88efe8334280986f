/**
 * A canvas as it travels: every task with its id, queue and priority settled when the canvas is sent
 * (so every handle is known up front, and a step applied later by a worker gets the id its handle
 * waits on), in a normal form with few shapes:
 *  - a chain is a first step whose `chain` lists what follows (Celery's message `chain` field);
 *    a group followed by more steps is a chord whose body is the rest of the chain;
 *  - a chord's body is one task (any other canvas runs behind the built-in `taskq.pass`, which hands
 *    the header's values on);
 *  - a chord member carries `chord: {id, i}` on the task whose result is its value.
 * This form is what job records carry (in `data`, after the arguments, where scripts never look).
 */
import { OptionError } from '../../errors.js';
import type { BackoffSpec } from '../../broker/message.js';

/** Call options a signature keeps (relative times stay relative until the step is applied). */
export interface FrozenCallOptions {
  countdown?: number;
  /** ms since epoch. */
  eta?: number;
  /** Seconds after the step is applied, or ms since epoch when `expiresAt`. */
  expires?: number;
  expiresAt?: number;
  retries?: number;
  backoff?: BackoffSpec | number;
  ignoreResult?: boolean;
  timeLimitMs?: number;
  softTimeLimitMs?: number;
  acksLate?: false;
}

export interface FrozenSig {
  task: string;
  id: string;
  queue: string;
  priority?: 'high' | 'low';
  args: unknown[];
  kwargs?: Record<string, unknown>;
  /** The parent's value is not prepended. */
  immutable?: true;
  options?: FrozenCallOptions;
  /** Applied with this task's value once it succeeds. */
  link?: FrozenNode[];
  /** Applied with `{id, task, error}` once it fails for good. */
  linkError?: FrozenNode[];
  /** The steps after this one: the first is applied with this task's value. */
  chain?: FrozenNode[];
  /** This task's value is member `i` of chord `id`. */
  chord?: { id: string; i: number };
}

export interface FrozenGroup {
  group: FrozenNode[];
  id: string;
}

export interface FrozenChord {
  chord: FrozenNode[];
  body: FrozenSig;
  id: string;
}

export type FrozenNode = FrozenSig | FrozenGroup | FrozenChord;

/** What a canvas's handle looks like: one task (with the steps before it) or a group of handles. */
export type ResultShape =
  | { id: string; task: string; ignoreResult: boolean; parent?: ResultShape; /** A chord's body: its header's failure reaches it through the chord (not followed). */ chordBody?: true }
  | { group: ResultShape[]; id: string };

/** The built-in task that hands its first argument on (a chord body that is not one task runs behind it). */
export const PASS_TASK = 'taskq.pass';

/** The names of the tasks an app's author registered: every one but taskq's built-ins (Celery hides `celery.*` so). */
export function userTaskNames(tasks: ReadonlyMap<string, unknown>): string[] {
  return [...tasks.keys()].filter((name) => name !== PASS_TASK);
}

export function isGroup(n: FrozenNode): n is FrozenGroup {
  return 'group' in n;
}

export function isChord(n: FrozenNode): n is FrozenChord {
  return 'chord' in n && 'body' in n;
}

/** The shape of the handle of a node already in normal form. */
export function shapeOf(n: FrozenNode, parent?: ResultShape): ResultShape {
  if (isGroup(n)) return { group: n.group.map((m) => shapeOf(m, parent)), id: n.id };
  if (isChord(n)) {
    const body = shapeOf({ ...n.body, chain: [] }, { group: n.chord.map((m) => shapeOf(m, parent)), id: n.id });
    let shape: ResultShape = { ...body, chordBody: true } as ResultShape;
    for (const step of n.body.chain ?? []) shape = shapeOf(step, shape);
    return shape;
  }
  let shape: ResultShape = { id: n.id, task: n.task, ignoreResult: n.options?.ignoreResult ?? false, ...(parent ? { parent } : {}) };
  for (const step of n.chain ?? []) shape = shapeOf(step, shape);
  return shape;
}

/** Checks a node read back from a job record (a worker applying what follows a step). */
export function assertFrozenNode(value: unknown, where: string, depth = 0): asserts value is FrozenNode {
  if (depth > 64) throw new OptionError(`${where}: canvas nested more than 64 deep`);
  const n = value as Record<string, unknown>;
  if (!n || typeof n !== 'object') throw new OptionError(`${where}: not a canvas node`);
  const list = (v: unknown, what: string): void => {
    if (v === undefined) return;
    if (!Array.isArray(v)) throw new OptionError(`${where}: ${what} is not a list`);
    for (const m of v) assertFrozenNode(m, where, depth + 1);
  };
  if ('group' in n) return list(n.group, 'group');
  if ('body' in n) {
    list(n.chord, 'chord header');
    return assertFrozenNode(n.body, where, depth + 1);
  }
  if (typeof n.task !== 'string' || typeof n.id !== 'string' || typeof n.queue !== 'string' || !Array.isArray(n.args)) {
    throw new OptionError(`${where}: a task step needs task, id, queue and args`);
  }
  list(n.link, 'link');
  list(n.linkError, 'linkError');
  list(n.chain, 'chain');
}

/**
 * `a` followed by `steps` (a chain's remaining steps, in order): a task takes them as its `chain`, a
 * chord hands them to its body, and a group followed by more becomes a chord whose body is the rest
 * (as in Celery). Applied lazily too: a worker attaches a finished step's remaining chain this way.
 */
export function attach(a: FrozenNode, steps: readonly FrozenNode[], newId: () => string): FrozenNode {
  if (steps.length === 0) return a;
  if (isGroup(a)) return { chord: a.group.map((m, i) => asMember(m, { id: a.id, i }, newId)), body: asBody(attach(steps[0] as FrozenNode, steps.slice(1), newId), newId), id: a.id };
  if (isChord(a)) return { ...a, body: attach(a.body, steps, newId) as FrozenSig };
  return { ...a, chain: [...(a.chain ?? []), ...steps] };
}

/** The first task a node sends (its queue is where a `taskq.pass` in front of it goes). */
export function firstSig(n: FrozenNode): FrozenSig {
  if (isGroup(n)) {
    if (!n.group.length) throw new OptionError('an empty group has no task to run: give it at least one signature');
    return firstSig(n.group[0] as FrozenNode);
  }
  if (isChord(n)) return n.chord.length ? firstSig(n.chord[0] as FrozenNode) : n.body;
  return n;
}

/** A chord body: one task, or `taskq.pass` handing the header's values on to any other canvas. */
export function asBody(n: FrozenNode, newId: () => string): FrozenSig {
  if (!isGroup(n) && !isChord(n)) return n;
  return { task: PASS_TASK, id: newId(), queue: firstSig(n).queue, args: [], chain: [n] };
}

/**
 * The chord a node's end counts for: its own membership, or — a chain in a chord's header — that of
 * the chain's last step (or of the body of a chord ending it), which never runs if the node fails.
 */
export function chordAhead(n: FrozenNode, depth = 0): { id: string; i: number } | undefined {
  if (depth > 64) return undefined;
  if (isChord(n)) return chordAhead(n.body, depth + 1);
  if (isGroup(n)) return undefined;
  if (n.chord) return n.chord;
  const last = n.chain?.at(-1);
  return last ? chordAhead(last, depth + 1) : undefined;
}

/** Marks the task whose value is `n`'s value as member `i` of chord `id`. */
export function asMember(n: FrozenNode, chord: { id: string; i: number }, newId: () => string): FrozenNode {
  if (isGroup(n)) {
    const body: FrozenSig = { task: PASS_TASK, id: newId(), queue: firstSig(n).queue, args: [], chord };
    return { chord: n.group.map((m, i) => asMember(m, { id: n.id, i }, newId)), body, id: n.id };
  }
  if (isChord(n)) return { ...n, body: asMember(n.body, chord, newId) as FrozenSig };
  const steps = n.chain ?? [];
  const last = steps[steps.length - 1];
  if (!last) return { ...n, chord };
  return { ...n, chain: [...steps.slice(0, -1), asMember(last, chord, newId)] };
}
