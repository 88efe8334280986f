/**
 * Applying a canvas node: the jobs to store and the chords to open, as one plan that a script carries
 * out atomically (lib/plan.lua) — from a producer (apply.lua) or, for what follows a finished step,
 * inside the finish script with that step's outcome (so a follow-up is sent exactly when its parent's
 * outcome is recorded, once). Records are built here, as text; the scripts never re-encode them.
 */
import type { Keys } from '../../broker/keys.js';
import { JobTemplate } from '../job-template.js';
import { Router } from '../routing.js';
import { toJson } from '../serialize.js';
import { kwargsTail } from '../producer.js';
import type { ApplyOptions } from '../task.js';
import { randomUUID } from 'node:crypto';
import { asBody, isChord, isGroup, type FrozenChord, type FrozenNode, type FrozenSig } from './frozen.js';

/** One job: queue key base (`<prefix>:<queue>:`), priority, id, record, due ms ("0" = now), task-sent event. */
export type PlanJob = [base: string, priority: string, id: string, record: string, due: string, event: string];
/**
 * One chord: key, size, then its body's base, priority, id, task name (JSON), record head, record tail,
 * "1" if the values go in, countdown ms, eta ms ("0" = none), relative expiry ms ("0" = none), and its
 * errbacks ("" or JSON [[base, priority, id, head, tail]…], given the body's failure).
 */
export type PlanChord = [key: string, size: string, base: string, priority: string, id: string, task: string, head: string, tail: string, mutable: string, delayMs: string, etaMs: string, expiresMs: string, errbacks: string];

export interface Plan {
  j: PlanJob[];
  c: PlanChord[];
  /** This step's value is member i of a chord: key, index, value JSON. */
  m?: [key: string, i: string, value: string];
  /** A chord member failed: the chord's key and the error (JSON) its body fails with. */
  f?: [key: string, error: string];
}

export interface PlanContext {
  keys: Keys;
  now: number;
  /** Write task-sent events. */
  sentEvents: boolean;
}

/** Stands for the parent's value in a record until the value is spliced in (never a caller's string: it holds NULs). */
const PARENT = '\u0000taskq:parent\u0000';
const PARENT_JSON = JSON.stringify(PARENT);
const PARENT_IN_EVENT = JSON.stringify(PARENT_JSON).slice(1, -1);

/** Every frozen task names its queue: this router only ever returns the call's queue. */
const router = new Router(undefined, 'default');

export function emptyPlan(): Plan {
  return { j: [], c: [] };
}

function splice(text: string, marker: string, value: string): string {
  const at = text.indexOf(marker);
  return at < 0 ? text : text.slice(0, at) + value + text.slice(at + marker.length);
}

function callOptions(sig: FrozenSig): ApplyOptions {
  const o = sig.options ?? {};
  const out: ApplyOptions = { queue: sig.queue, priority: sig.priority ?? 'normal' };
  if (o.countdown !== undefined) out.countdown = o.countdown;
  if (o.eta !== undefined) out.eta = o.eta;
  if (o.expiresAt !== undefined) out.expires = new Date(o.expiresAt);
  else if (o.expires !== undefined) out.expires = o.expires;
  if (o.retries !== undefined) out.retries = o.retries;
  if (o.backoff !== undefined) out.backoff = o.backoff as ApplyOptions['backoff'];
  if (o.ignoreResult) out.ignoreResult = true;
  if (o.timeLimitMs !== undefined) out.timeLimitMs = o.timeLimitMs;
  if (o.softTimeLimitMs !== undefined) out.softTimeLimitMs = o.softTimeLimitMs;
  if (o.acksLate === false) out.acksLate = false;
  return out;
}

/** What a record carries after the arguments: kwargs and the canvas around this step. */
function dataTail(sig: FrozenSig): string {
  let tail = kwargsTail(sig.task, sig.kwargs);
  const where = `cannot send ${sig.task}`;
  for (const key of ['chain', 'link', 'linkError'] as const) {
    const list = sig[key];
    if (list && list.length > 0) tail += `,"${key}":${toJson(list, key, 'TASKQ_ARGS_UNSERIALIZABLE', where)}`;
  }
  if (sig.chord) tail += `,"chord":${JSON.stringify(sig.chord)}`;
  return tail;
}

/** The record (and event) of one step, with PARENT where the parent's value goes. */
function build(sig: FrozenSig, ctx: PlanContext, withParent: boolean): { entry: Array<string | number>; template: JobTemplate } {
  const template = new JobTemplate(sig.task, undefined, callOptions(sig), router, ctx.now, ctx.sentEvents);
  const args = withParent && !sig.immutable ? [PARENT, ...sig.args] : sig.args;
  return { entry: template.build(args, sig.id, `${sig.task}.applyAsync`, dataTail(sig)), template };
}

function applySig(plan: Plan, sig: FrozenSig, ctx: PlanContext, parent: string | undefined): void {
  const { entry, template } = build(sig, ctx, parent !== undefined);
  let record = entry[1] as string;
  let event = entry[3] as string;
  if (parent !== undefined && !sig.immutable) {
    record = splice(record, PARENT_JSON, parent);
    if (event) event = splice(event, PARENT_IN_EVENT, JSON.stringify(parent).slice(1, -1));
  }
  plan.j.push([ctx.keys.queueBase(template.queue), template.priority, sig.id, record, String(template.dueMs), event]);
}

/** A record as head and tail around where the parent's value goes (tail "" when it takes none). */
function split(sig: FrozenSig, ctx: PlanContext): { head: string; tail: string; template: JobTemplate } {
  const { entry, template } = build(sig, ctx, true);
  const record = entry[1] as string;
  const at = sig.immutable ? -1 : record.indexOf(PARENT_JSON);
  return { head: at < 0 ? record : record.slice(0, at), tail: at < 0 ? '' : record.slice(at + PARENT_JSON.length), template };
}

function applyChord(plan: Plan, node: FrozenChord, ctx: PlanContext, parent: string | undefined): void {
  if (node.chord.length === 0) {
    // As Celery: an empty header's body runs at once with [].
    applyNode(plan, node.body, ctx, '[]');
    return;
  }
  // The body's times count from when it is sent, not from now: its record leaves them out, the
  // chord keeps them (countdown and relative expiry as ms, eta as a time), and the script applies them.
  const { countdown, eta, expires, ...fixed } = node.body.options ?? {};
  const body: FrozenSig = { ...node.body, options: fixed };
  const { head, tail, template } = split(body, ctx);
  // Its errbacks, for a member's failure (the body then fails without running): each gets the body's failure first.
  const errbacks = (body.linkError ?? []).map((e) => {
    const sig = asBody(e, randomUUID);
    const parts = split(sig, ctx);
    return [ctx.keys.queueBase(parts.template.queue), parts.template.priority, sig.id, parts.head, parts.tail];
  });
  plan.c.push([
    ctx.keys.chord(node.id), String(node.chord.length), ctx.keys.queueBase(template.queue), template.priority, body.id, JSON.stringify(body.task), head, tail, tail === '' ? '0' : '1',
    String(countdown ? Math.round(countdown * 1000) : 0), String(eta ?? 0), String(expires ? Math.round(expires * 1000) : 0), errbacks.length ? JSON.stringify(errbacks) : '',
  ]);
  for (const member of node.chord) applyNode(plan, member, ctx, parent);
}

/** Adds what applying `node` stores to `plan`; `parent` is the previous step's value (JSON), if any. */
export function applyNode(plan: Plan, node: FrozenNode, ctx: PlanContext, parent?: string): void {
  if (isGroup(node)) for (const member of node.group) applyNode(plan, member, ctx, parent);
  else if (isChord(node)) applyChord(plan, node, ctx, parent);
  else applySig(plan, node, ctx, parent);
}

/** The ids of the jobs a plan sends now (a finished step's children). */
export function planIds(plan: Plan): string[] {
  return plan.j.map((j) => j[2]);
}
