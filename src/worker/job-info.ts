/** A delivery as `inspect` and the USR1 dump show it: read from its raw record, never failing. */
import { decodeJobRecord, peekTaskName } from '../broker/message.js';
import { peekOptions } from './outcome.js';
import type { TakenJob } from './queue-consumer.js';
import type { JobInfo } from './worker-types.js';

export function jobInfo(job: TakenJob, queue: string, started: boolean): JobInfo {
  let args: unknown[] | undefined;
  try {
    args = decodeJobRecord(job.raw, job.id, queue).data.args;
  } catch {
    args = undefined; // a record that cannot be decoded is still listed, by id and task
  }
  return { id: job.id, task: peekTaskName(job.raw), queue, attempt: peekOptions(job.raw).attempt, ...(started ? { startedAt: job.startedAt } : {}), ...(args ? { args } : {}) };
}
