/**
 * Turns an attempt's outcome into its entry in the finish script's arguments (see finish.lua): the
 * result record, the event, and the updated job record (retry / failure). Pure: `now` and the node
 * name are passed in.
 */
import type { Keys } from '../broker/keys.js';
import type { AppConfig } from '../core/config.js';
import { encodeJobRecord, peekTaskName, type JobRecord } from '../core/message.js';
import type { ResultRecord } from '../core/result-record.js';
import type { Attempt } from './job-runner.js';

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

/** The finish script's leading arguments, shared by every job of a batch; `notices` start notices follow. */
export function finishHeader(config: AppConfig, keys: Keys, now: number, notices = 0): Array<string | number> {
  return [config.resultExpiresMs, now, config.eventsMaxLen, keys.resultPrefix, notices];
}

/**
 * The 3 arguments of a start notice, for a prefetched job that started after it was taken: its
 * STARTED record and task-started event (take.lua wrote neither for it).
 */
export function startNotice(id: string, raw: string, startedAt: number, node: string, config: AppConfig): string[] {
  const task = peekTaskName(raw);
  // The options part only (it precedes the caller's arguments): arguments cannot pose as options.
  const data = raw.indexOf(',"data":{');
  const optionsText = data < 0 ? '' : raw.slice(0, data);
  const attempt = Number(/"attempt":(\d+)/.exec(optionsText)?.[1] ?? 1);
  const ignore = optionsText.includes('"ignoreResult":true');
  const record = ignore ? '' : JSON.stringify({ state: 'STARTED', id, task, node, startedAt, attempt });
  const event = config.events ? JSON.stringify({ id, task, node, attempt }) : '';
  return [id, record, event];
}

export interface FinishContext {
  config: AppConfig;
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

/** The 7 arguments of one job: id, outcome, result, event type, event data, updated record, due time. */
export function finishEntry(attempt: Attempt, ctx: FinishContext): Array<string | number> {
  const { config, node, now } = ctx;
  const { id, queue, record, taskName, outcome } = attempt;
  const runtimeMs = Math.round(attempt.runtimeMs * 1000) / 1000;
  const base = { id, task: taskName, node, attempt: record?.options.attempt ?? 1 };
  const storeResult = !record?.options.ignoreResult;
  let resultJson = '';
  let eventType: string;
  let event: Record<string, unknown>;
  let updated = '';
  let dueMs = 0;
  switch (outcome.kind) {
    case 'success': {
      if (storeResult) {
        const meta: Omit<ResultRecord, 'result'> = { state: 'SUCCESS', ...base, startedAt: ctx.startedAt, doneAt: now, runtimeMs };
        // Splice the already-serialised value in rather than parse and re-serialise it.
        resultJson = `${JSON.stringify(meta).slice(0, -1)},"result":${outcome.resultJson}}`;
      }
      eventType = 'task-succeeded';
      event = { ...base, runtimeMs };
      break;
    }
    case 'retry': {
      dueMs = now + outcome.delayMs;
      if (storeResult) {
        const rec: ResultRecord = { state: 'RETRY', ...base, startedAt: ctx.startedAt, error: outcome.error, retryAt: dueMs, runtimeMs };
        resultJson = JSON.stringify(rec);
      }
      eventType = 'task-retried';
      event = { ...base, error: { name: outcome.error.name, message: outcome.error.message }, retryAt: dueMs };
      updated = encodeJobRecord(nextRecord(record as JobRecord, 'retrying', attempt));
      break;
    }
    case 'failure': {
      if (storeResult) {
        const rec: ResultRecord = { state: 'FAILURE', ...base, startedAt: ctx.startedAt, doneAt: now, runtimeMs, error: outcome.error, reason: outcome.reason };
        resultJson = JSON.stringify(rec);
      }
      eventType = 'task-failed';
      event = { ...base, queue, error: outcome.error, reason: outcome.reason, runtimeMs };
      updated = record ? encodeJobRecord(nextRecord(record, 'failed', attempt)) : ctx.raw;
      break;
    }
    case 'revoked': {
      if (storeResult) {
        const rec: ResultRecord = { state: 'REVOKED', ...base, startedAt: ctx.startedAt, doneAt: now, runtimeMs, reason: outcome.reason };
        resultJson = JSON.stringify(rec);
      }
      eventType = 'task-revoked';
      event = { ...base, reason: outcome.reason, ...(outcome.reason === 'terminated' ? { terminated: true } : {}) };
      break;
    }
  }
  return [id, outcome.kind, resultJson, config.events ? eventType : '', config.events ? JSON.stringify(event) : '', updated, dueMs];
}
