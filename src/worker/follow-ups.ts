/**
 * What a finished job sends (Celery's callbacks and canvas steps), as a plan the finish script carries
 * out with the job's outcome, only if that outcome is recorded: on success the next step of its chain
 * (given its value), its links, and its chord's progress; on a failure for good its errbacks and its
 * chord's failure; on revocation its chord's failure; on a retry, its chord's failure in case the
 * finish script finds it revoked meanwhile and records REVOKED instead. Pure: `now` is passed in.
 */
import { randomUUID } from 'node:crypto';
import type { Keys } from '../broker/keys.js';
import { applyNode, emptyPlan, planIds, type Plan, type PlanContext } from '../core/canvas/plan.js';
import { assertFrozenNode, attach, chordAhead, type FrozenNode } from '../core/canvas/frozen.js';
import type { CanvasData } from '../broker/message.js';
import type { Attempt } from './job-runner.js';

export interface FollowUps {
  /** finish.lua's plan argument ("" = nothing follows). */
  plan: string;
  /** Ids of the jobs it sends now (the result record's `children`). */
  children: string[];
}

const NONE: FollowUps = { plan: '', children: [] };

function nodes(value: unknown, where: string): FrozenNode[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${where} is not a list`);
  value.forEach((n) => assertFrozenNode(n, where));
  return value as FrozenNode[];
}

/** The chord a job's end counts for (its own, or that of the chain it starts; see frozen.ts). */
function chordAheadOf(data: CanvasData): { id: string; i: number } | undefined {
  return data.chord ?? chordAhead({ task: data.task, id: '', queue: '', args: [], chain: nodes(data.chain, 'data.chain') });
}

/** The plan's failure of chord `ahead`, naming the member and what ended it. */
function chordFailure(keys: Keys, attempt: Attempt, ahead: { id: string; i: number }, why: string): [string, string] {
  const message = `chord member ${attempt.id} (${attempt.taskName}, index ${ahead.i}) failed: ${why}`;
  return [keys.chord(ahead.id), JSON.stringify({ name: 'ChordError', message })];
}

/** The follow-ups of an attempt's outcome (throws when the record's canvas is malformed: the job then fails). */
export function followUps(attempt: Attempt, keys: Keys, now: number, sentEvents: boolean): FollowUps {
  const data = attempt.record?.data as CanvasData | undefined;
  if (!data || (data.chain === undefined && data.link === undefined && data.linkError === undefined && data.chord === undefined)) return NONE;
  const ctx: PlanContext = { keys, now, sentEvents };
  const plan: Plan = emptyPlan();
  const outcome = attempt.outcome;
  const chord = data.chord;
  if (outcome.kind === 'success') {
    const chain = nodes(data.chain, 'data.chain');
    if (chain.length > 0) applyNode(plan, attach(chain[0] as FrozenNode, chain.slice(1), randomUUID), ctx, outcome.resultJson);
    for (const link of nodes(data.link, 'data.link')) applyNode(plan, link, ctx, outcome.resultJson);
    if (chord) plan.m = [keys.chord(chord.id), String(chord.i), outcome.resultJson];
  } else if (outcome.kind === 'failure' || outcome.kind === 'revoked') {
    const error = outcome.kind === 'failure' ? { name: outcome.error.name, message: outcome.error.message } : { name: 'TaskRevokedError', message: `revoked (${outcome.reason})` };
    if (outcome.kind === 'failure') {
      const failure = JSON.stringify({ id: attempt.id, task: attempt.taskName, error });
      for (const errback of nodes(data.linkError, 'data.linkError')) applyNode(plan, errback, ctx, failure);
    }
    // Its own chord, or — a step of a chain in a chord's header — the chord the chain's end counts for.
    const ahead = chordAheadOf(data);
    if (ahead) {
      plan.f = chordFailure(keys, attempt, ahead, `${error.name}: ${error.message}`);
    }
  } else {
    // A retry sends nothing, unless finish.lua turns it into a revocation (revoked while it ran):
    // this plan is applied then, and the chord fails.
    const ahead = chordAheadOf(data);
    if (!ahead) return NONE;
    plan.f = chordFailure(keys, attempt, ahead, 'TaskRevokedError: revoked (revoked while it ran)');
  }
  if (plan.j.length === 0 && plan.c.length === 0 && !plan.m && !plan.f) return NONE;
  return { plan: JSON.stringify(plan), children: planIds(plan) };
}
