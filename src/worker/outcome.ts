/**
 * Turns an attempt's outcome into its entry in the finish script's arguments (see finish.lua): the
 * result record, the event, and the updated job record (retry / failure). Pure: `now` and the node
 * name are passed in.
 */
import type { Keys } from '../broker/keys.js';
import type { AppConfig } from '../core/config.js';
import { encodeJobRecord, peekTaskName, type JobRecord } from '../broker/message.js';
import type { ResultRecord } from '../core/result-record.js';
import type { Attempt } from './job-runner.js';
import { followUps } from './follow-ups.js';

/** How much of a result a task-succeeded event carries. */
const RESULT_PREVIEW = 512;

/** The finish script's keys for a queue. */
export function finishKeys(keys: Keys, queue: string): string[] {
  return [
    keys.queue(queue, 'active'),
    keys.queue(queue, 'jobs'),
    keys.events,
    keys.queue(queue, 'waiting'),
    keys.queue(queue, 'delayed'),
    keys.queue(queue, 'earlierDelayed'),
    keys.queue(queue, 'dead'),
    keys.revoked,
  ];
}

/** The finish script's leading arguments, shared by every job of a batch; `starts` starts follow. */
export function finishHeader(config: AppConfig, keys: Keys, now: number, starts = 0, node = '', events = config.events): Array<string | number> {
  return [config.resultExpiresMs, config.eventsMaxLen, keys.resultPrefix, starts, now, JSON.stringify(node), events ? '1' : '0'];
}

/** A delivery's STARTED record: state and delivery first, where the scripts read them (lib/common.lua). */
export function startedRecord(fields: { delivery: string; id: string; task: string; node: string; startedAt: number; attempt: number; progress?: unknown; custom?: string }): string {
  const { delivery, id, task, node, startedAt, attempt } = fields;
  // The state stays STARTED (the scripts own a record by that prefix); a custom state rides beside it.
  const rec: Record<string, unknown> = { state: 'STARTED', delivery, id, task, node, startedAt, attempt };
  if (fields.custom) rec.custom = fields.custom;
  if ('progress' in fields) rec.progress = fields.progress;
  return JSON.stringify(rec);
}

/** What the scripts read from a record's options text (before the caller's arguments, which cannot pose as options). */
export function peekOptions(raw: string): { attempt: number; ignoreResult: boolean; expires: number | undefined; acksLate: false | undefined } {
  const data = raw.indexOf(',"data":{');
  const optionsText = data < 0 ? '' : raw.slice(0, data);
  const expires = /"expires":(\d+)/.exec(optionsText)?.[1];
  return {
    attempt: Number(/"attempt":(\d+)/.exec(optionsText)?.[1] ?? 1),
    ignoreResult: optionsText.includes('"ignoreResult":true'),
    expires: expires === undefined ? undefined : Number(expires),
    acksLate: optionsText.includes('"acksLate":false') ? false : undefined,
  };
}

/**
 * The 7 arguments of a start, for a held job (prefetched, or waiting for its rate slot): what
 * finish.lua needs to write its STARTED record and task-started event (take.lua wrote neither) and to
 * check revocation and expiry, and whether the job waits for the verdict (a request) or already runs
 * (a notice). The record and event are built in the script: fewer bytes per job on the wire.
 */
export function startRequest(job: { id: string; raw: string; token: string; startedAt: number }, waits: boolean): string[] {
  const { attempt, ignoreResult, expires } = peekOptions(job.raw);
  return [job.id, job.token, JSON.stringify(peekTaskName(job.raw)), String(attempt), ignoreResult ? '' : String(job.startedAt), expires === undefined ? '' : String(expires), waits ? '1' : '0'];
}

export interface FinishContext {
  config: AppConfig;
  /** Write task events (the node's switch; default: the app's `events`). */
  events?: boolean;
  keys: Keys;
  node: string;
  now: number;
  startedAt: number;
  /** The raw record, stored unchanged when it could not be decoded. */
  raw: string;
}

function nextRecord(rec: JobRecord, status: JobRecord['status'], attempt: Attempt): JobRecord {
  const outcome = attempt.outcome;
  const next: JobRecord = { ...rec, options: { ...rec.options }, status };
  if (outcome.kind === 'retry' || outcome.kind === 'failure') next.options.lastError = outcome.error;
  if (status === 'retrying') next.options.attempt = rec.options.attempt + 1;
  return next;
}

/** What finish.lua writes for one outcome: result record ("" = none), event, updated job record, retry delay. */
interface Written {
  result: ResultRecord | string | undefined;
  eventType: string;
  /** The event's data, or its JSON text already. */
  event: Record<string, unknown> | string;
  updated: string;
  delayMs: number;
}

function written(attempt: Attempt, ctx: FinishContext, runtimeMs: number, children: string[]): Written {
  const { now, startedAt } = ctx;
  const { record, taskName, outcome, queue } = attempt;
  const base = { id: attempt.id, task: taskName, node: ctx.node, attempt: record?.options.attempt ?? 1 };
  switch (outcome.kind) {
    case 'success': {
      // The hot path: written as text (the same text JSON.stringify gives for these fields, in this
      // order), with the already-serialised value spliced in rather than parsed and re-serialised.
      const fields = `"id":${JSON.stringify(base.id)},"task":${JSON.stringify(base.task)},"node":${JSON.stringify(base.node)},"attempt":${base.attempt}`;
      const kids = children.length > 0 ? `,"children":${JSON.stringify(children)}` : '';
      const result = `{"state":"SUCCESS",${fields},"startedAt":${startedAt},"doneAt":${now},"runtimeMs":${runtimeMs}${kids},"result":${outcome.resultJson}}`;
      // As Celery's, the event carries the result (its JSON text, at most 512 bytes) for monitors to show and search.
      const shown = outcome.resultJson.length > RESULT_PREVIEW ? `${outcome.resultJson.slice(0, RESULT_PREVIEW)}…` : outcome.resultJson;
      return { result, eventType: 'task-succeeded', event: `{${fields},"runtimeMs":${runtimeMs},"result":${JSON.stringify(shown)}}`, updated: '', delayMs: 0 };
    }
    case 'retry': {
      const delayMs = Math.max(0, Math.round(outcome.delayMs));
      const retryAt = now + delayMs;
      return {
        result: { state: 'RETRY', ...base, startedAt, error: outcome.error, retryAt, runtimeMs },
        eventType: 'task-retried',
        event: { ...base, error: { name: outcome.error.name, message: outcome.error.message }, retryAt },
        updated: encodeJobRecord(nextRecord(record as JobRecord, 'retrying', attempt)),
        delayMs,
      };
    }
    case 'failure':
      return {
        result: { state: 'FAILURE', ...base, startedAt, doneAt: now, runtimeMs, error: outcome.error, reason: outcome.reason, ...(children.length ? { children } : {}) },
        eventType: 'task-failed',
        event: { ...base, queue, error: outcome.error, reason: outcome.reason, runtimeMs },
        updated: record ? encodeJobRecord(nextRecord(record, 'failed', attempt)) : ctx.raw,
        delayMs: 0,
      };
    case 'revoked':
      return {
        result: { state: 'REVOKED', ...base, startedAt, doneAt: now, runtimeMs, reason: outcome.reason },
        eventType: 'task-revoked',
        event: { ...base, reason: outcome.reason, ...(outcome.reason === 'terminated' ? { terminated: true } : {}) },
        updated: '',
        delayMs: 0,
      };
  }
}

/**
 * The 9 arguments of one job: id, delivery token, outcome, result, event type, event data, updated
 * record, retry delay, follow-up plan (throws when its canvas cannot be planned: the caller fails it).
 */
export function finishEntry(attempt: Attempt, token: string, ctx: FinishContext): Array<string | number> {
  const runtimeMs = Math.round(attempt.runtimeMs * 1000) / 1000;
  const next = followUps(attempt, ctx.keys, ctx.now, ctx.config.events && ctx.config.sentEvents);
  const w = written(attempt, ctx, runtimeMs, next.children);
  const resultJson = attempt.record?.options.ignoreResult || w.result === undefined ? '' : typeof w.result === 'string' ? w.result : JSON.stringify(w.result);
  const events = ctx.events ?? ctx.config.events;
  return [attempt.id, token, attempt.outcome.kind, resultJson, events ? w.eventType : '', events ? (typeof w.event === 'string' ? w.event : JSON.stringify(w.event)) : '', w.updated, w.delayMs, next.plan];
}
