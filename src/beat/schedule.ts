/**
 * Periodic entries and their slots, pure (the clock is passed in). An entry fires at slots: for
 * `every`, the multiples of its interval since the Unix epoch (so every beat process computes the same
 * slots, and a slot is a stable id); for `cron`, the times its expression matches (beat/cron.ts).
 * Slots that come due while a leader runs fire; slots missed while no beat ran (older than
 * `lateToleranceMs` when a leader looks) follow the entry's `catchUp`: `none` skips them, `latest`
 * (default) fires the most recent one, `all` fires each, at most `maxCatchUp` of the newest.
 */
import { ConfigError } from '../errors.js';
import { cronNextMatch, cronProblem, knownTimezone } from './cron.js';
import type { BeatEntrySpec, CatchUp } from '../core/beat-spec.js';

export type { BeatEntrySpec, CatchUp } from '../core/beat-spec.js';
export const CATCH_UP: readonly CatchUp[] = ['none', 'latest', 'all'];

/** A checked entry, with its slot function. */
export interface BeatEntry {
  name: string;
  spec: BeatEntrySpec;
  /** The first slot strictly after `t` (ms). */
  slotAfter(t: number): number;
  catchUp: CatchUp;
}

/** Shortest interval: beat fires an entry at most once a second. */
export const MIN_EVERY_MS = 1000;
/** Slots this late are still fired as due (a failover, a slow Redis, a clock step), not treated as missed. */
export const LATE_TOLERANCE_MS = 30_000;
/** `catchUp: 'all'` fires at most this many missed slots (the newest). */
export const MAX_CATCH_UP = 100;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ENTRY_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function bad(entry: string, why: string): ConfigError {
  return new ConfigError('TASKQ_CONFIG_INVALID', `beat entry ${JSON.stringify(entry)}: ${why}`);
}

/** `every` in ms: a number of ms, or '30s' / '5m' / '1h' / '1d' / '500ms'. */
export function parseEvery(value: number | string, entry: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
    if (!m) throw bad(entry, `every ${JSON.stringify(value)}: expected ms or a number with ms, s, m, h or d (e.g. '30s', '5m')`);
    ms = Number(m[1]) * (UNITS[m[2] as string] as number);
  }
  if (!Number.isFinite(ms) || !Number.isInteger(ms)) throw bad(entry, `every ${JSON.stringify(value)}: must come to a whole number of ms`);
  if (ms < MIN_EVERY_MS) {
    const bare = typeof value === 'number' ? ` (a bare number is milliseconds: '${value}s' is ${value} seconds)` : '';
    throw bad(entry, `every ${JSON.stringify(value)}: ${ms} ms is too short${bare}; beat fires an entry at most once a second (at least 1s)`);
  }
  return ms;
}

/** Checks an entry (and, given the app's task names, that its task exists) and compiles its slots. */
export function compileEntry(name: string, spec: BeatEntrySpec, knownTasks?: { has(name: string): boolean }): BeatEntry {
  if (!ENTRY_NAME.test(name)) throw bad(name, 'the name must be 1–100 letters, digits, _ . -');
  if (!spec || typeof spec !== 'object') throw bad(name, 'expected {task, every | cron, …}');
  if (typeof spec.task !== 'string' || !spec.task) throw bad(name, 'needs "task": the name of the task to send');
  if (knownTasks && !knownTasks.has(spec.task)) throw bad(name, `task ${JSON.stringify(spec.task)} is not registered in the app; register it, or fix the name`);
  if ((spec.every === undefined) === (spec.cron === undefined)) throw bad(name, 'give exactly one of "every" (an interval) and "cron" (an expression)');
  if (spec.args !== undefined && !Array.isArray(spec.args)) throw bad(name, '"args" must be an array');
  if (spec.kwargs !== undefined && (!spec.kwargs || typeof spec.kwargs !== 'object' || Array.isArray(spec.kwargs))) throw bad(name, '"kwargs" must be an object');
  const catchUp = spec.catchUp ?? 'latest';
  if (!CATCH_UP.includes(catchUp)) throw bad(name, `catchUp ${JSON.stringify(spec.catchUp)}: expected one of ${CATCH_UP.join(', ')}`);
  if (spec.timezone !== undefined && (spec.cron === undefined || !knownTimezone(spec.timezone))) {
    throw bad(name, spec.cron === undefined ? '"timezone" applies to "cron" entries only' : `unknown timezone ${JSON.stringify(spec.timezone)} (an IANA name such as Europe/Berlin)`);
  }
  if (spec.options?.jobId !== undefined) throw bad(name, '"options.jobId" is beat\'s own: each fire gets <entry>@<slot>');
  if (spec.every !== undefined) {
    const every = parseEvery(spec.every, name);
    return { name, spec, catchUp, slotAfter: (t) => (Math.floor(t / every) + 1) * every };
  }
  const problem = cronProblem(String(spec.cron));
  if (problem) throw bad(name, `cron ${JSON.stringify(spec.cron)}: ${problem}`);
  const next = cronNextMatch(String(spec.cron), spec.timezone ?? 'UTC');
  return { name, spec, catchUp, slotAfter: (t) => next(new Date(t)).getTime() };
}

/** Every slot in (from, to], oldest first (callers keep the span small: see newestSlots). */
function slotsIn(entry: BeatEntry, from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = entry.slotAfter(from); s <= to; s = entry.slotAfter(s)) out.push(s);
  return out;
}

/** Look-back windows for missed slots: each 60× the last, so the walk stays near the slots it needs. */
const WINDOWS_MS = [60_000, 3_600_000, 216_000_000, 12_960_000_000, 777_600_000_000];

/** The newest `count` slots in (after, upTo], oldest first, walking only recent windows. */
function newestSlots(entry: BeatEntry, after: number, upTo: number, count: number): number[] {
  for (const w of WINDOWS_MS) {
    const from = Math.max(after, upTo - w);
    const found = slotsIn(entry, from, upTo);
    if (found.length >= count || from === after) return found.slice(-count);
  }
  return slotsIn(entry, Math.max(after, upTo - (WINDOWS_MS.at(-1) as number)), upTo).slice(-count);
}

/**
 * The slots of `entry` to fire at `now`, oldest first: those after `last` (the last fired, or when
 * the entry was first seen) and not after `now`; of those older than the late tolerance (missed while
 * no beat ran), what catchUp keeps. Bounded however long the gap.
 */
export function dueSlots(entry: BeatEntry, last: number, now: number): number[] {
  const lateFrom = now - LATE_TOLERANCE_MS;
  const due = slotsIn(entry, Math.max(last, lateFrom), now);
  if (last >= lateFrom || entry.catchUp === 'none') return due;
  return [...newestSlots(entry, last, lateFrom, entry.catchUp === 'latest' ? 1 : MAX_CATCH_UP), ...due];
}

/** The job id of a fire: the same in every beat process, so a slot can be sent once only. */
export function fireId(entry: string, slot: number): string {
  return `beat:${entry}@${new Date(slot).toISOString()}`;
}
