/**
 * The result record stored at `<prefix>:result:<id>` (JSON, with the app's result TTL).
 *
 *   state      TaskState   PENDING is never stored: no record means PENDING
 *   id, task   string
 *   node       string?     worker node that ran the last attempt
 *   attempt    number?     1-based attempt that produced this record
 *   startedAt  number?     ms, set on STARTED
 *   doneAt     number?     ms, set when ready
 *   runtimeMs  number?     duration of the attempt
 *   result     any?        SUCCESS: the return value (JSON)
 *   error      ErrorInfo?  FAILURE / RETRY: name, message, remote stack
 *   progress   any?        last value passed to ctx.progress() (or ctx.updateState's meta)
 *   custom     string?     STARTED: a custom state set by ctx.updateState (e.g. PROGRESS)
 *   reason     string?     FAILURE/REVOKED: why ("stalled", "max retries (3) exceeded", "unknown task", …)
 *   retryAt    number?     RETRY: ms the next attempt is due
 *   children   string[]?   SUCCESS/FAILURE: ids of the tasks its end sent (next chain step, links)
 */
import type { ErrorInfo } from '../broker/message.js';
import type { TaskState } from './states.js';
import { TASK_STATES } from './states.js';

export interface ResultRecord {
  state: TaskState;
  id: string;
  task: string;
  node?: string;
  attempt?: number;
  startedAt?: number;
  doneAt?: number;
  runtimeMs?: number;
  result?: unknown;
  error?: ErrorInfo;
  progress?: unknown;
  /** STARTED with a custom state (ctx.updateState): what AsyncResult.state() reports. */
  custom?: string;
  reason?: string;
  retryAt?: number;
  children?: string[];
}

/** Parses a stored record; a corrupt one is reported as a FAILURE rather than thrown at the reader. */
export function parseResultRecord(raw: string | null, id: string): ResultRecord | undefined {
  if (raw === null) return undefined;
  try {
    const rec = JSON.parse(raw) as ResultRecord;
    if (rec && typeof rec === 'object' && TASK_STATES.includes(rec.state)) return rec;
  } catch {
    // fall through
  }
  return {
    state: 'FAILURE',
    id,
    task: '<unknown>',
    error: { name: 'CorruptResult', message: `the stored result of ${id} is not a taskq result record` },
  };
}
