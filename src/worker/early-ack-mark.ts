/**
 * A job of a task acknowledged early (acksLate: false) whose record does not say so — sent by name
 * from a producer that does not import the task — gets it written into its record when this node
 * takes it. The stall check reads only the record: without the mark, a node killed under the job
 * would have it re-delivered and run twice, where the task asked for at most once.
 */
import type { Logger } from 'pino';
import type { Redis } from '../broker/redis-factory.js';
import { peekTaskName } from '../broker/message.js';
import type { App } from '../core/app.js';
import { peekOptions } from './outcome.js';
import type { TakenJob } from './queue-consumer.js';

const HEAD = /^\{"stalls":\d+,"options":\{"v":1,/;

/** Sends the marks (on the node's connection, before any outcome of these jobs); never throws. */
export function markEarlyAcks(client: Redis, app: App, queue: string, jobs: readonly TakenJob[], log: Logger): void {
  let pipeline: ReturnType<Redis['pipeline']> | undefined;
  for (const job of jobs) {
    if (app.tasks.get(peekTaskName(job.raw))?.acksLate !== false || peekOptions(job.raw).acksLate === false) continue;
    const head = HEAD.exec(job.raw)?.[0];
    if (!head) continue;
    pipeline ??= client.pipeline();
    pipeline.hset(app.keys.queue(queue, 'jobs'), job.id, `${head}"acksLate":false,${job.raw.slice(head.length)}`);
  }
  pipeline?.exec().catch((err: unknown) => log.warn({ err, queue }, 'could not mark early-acknowledged jobs in their records'));
}
