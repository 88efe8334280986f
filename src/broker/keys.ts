/**
 * Redis key layout. Queue keys keep bee-queue's layout (`<prefix>:<queue>:<name>`) so bee-queue's own
 * methods (getJobs, checkHealth, removeJob, delayed activation) work on taskq queues unchanged.
 *
 *   <prefix>:<queue>:waiting         LIST  job ids ready to run (LPUSH in, BRPOPLPUSH out), normal priority
 *   <prefix>:<queue>:waiting:high    LIST  high-priority ids (taken first); `:low` taken last
 *                                          ("~wake" in `waiting` wakes a blocked worker for them)
 *   <prefix>:<queue>:active          LIST  job ids a worker has taken
 *   <prefix>:<queue>:stalling        SET   active ids not yet proven alive since the last stall check
 *   <prefix>:<queue>:stallBlock      STR   held (PX stall interval) by the one process running the check
 *   <prefix>:<queue>:stallLast       STR   time of the last stall check (ms): after a gap, no sweep
 *   <prefix>:<queue>:delayed         ZSET  job ids by due time (ms)
 *   <prefix>:<queue>:earlierDelayed  CHAN  published when a new head of `delayed` appears
 *   <prefix>:<queue>:jobs            HASH  id → job record JSON (see core/message.ts)
 *   <prefix>:<queue>:dead            ZSET  ids of jobs that failed for good, by time of death (ms)
 *   <prefix>:chord:<id>              HASH  an open chord: size, body record parts, `fired` once its body went
 *   <prefix>:chord:<id>:r            HASH  member index → value JSON, until the body is sent
 *   <prefix>:result:<id>             STR   result record JSON, with TTL (see core/result-record.ts)
 *   <prefix>:result:<id>             CHAN  published once the result is ready (PUBLISH, no subscriber needed)
 *   <prefix>:events                  STREAM event stream (see events/event-types.ts)
 *   <prefix>:revoked                 ZSET  revoked job ids by time of revocation (bounded, see defaults)
 *   <prefix>:control                 CHAN  commands to every worker node (JSON: {op, …})
 *   <prefix>:rates                   HASH  task → rate limit set at run time ("10/s"), beats the task's own
 *   <prefix>:rate:<task>             STR   the task's next free start time (ms), cluster-wide
 *   <prefix>:queues                  SET   every queue name producers or workers have used
 *   <prefix>:nodes                   ZSET  node name → last heartbeat (ms)
 *   <prefix>:node:<name>             STR   last heartbeat JSON of a node, TTL 3 heartbeats
 *   <prefix>:reply:<id>              LIST  replies to one remote control request (TTL 1 min)
 *   <prefix>:beat:leader             STR   the beat leader's token, PX its lease
 *   <prefix>:beat:state              HASH  per entry: <entry>:last / :next / :at (ms), <entry>:total
 */
import { TaskqError } from '../errors.js';

export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$/;

export function assertQueueName(name: string, where: string): void {
  if (!QUEUE_NAME_PATTERN.test(name)) {
    throw new TaskqError(
      'TASKQ_QUEUE_NAME_INVALID',
      `invalid queue name ${JSON.stringify(name)} in ${where}: use 1–128 letters, digits, "_", "." or "-", ` +
        'starting with a letter or digit.',
      { exitCode: 64 },
    );
  }
}

export type QueueKeyName = 'waiting' | 'active' | 'stalling' | 'stallBlock' | 'stallLast' | 'delayed' | 'earlierDelayed' | 'jobs' | 'dead';

export class Keys {
  constructor(readonly prefix: string) {}

  queue(queue: string, key: QueueKeyName): string {
    return `${this.prefix}:${queue}:${key}`;
  }

  /** What every key of a queue starts with (`<prefix>:<queue>:`), for scripts that reach several queues. */
  queueBase(queue: string): string {
    return `${this.prefix}:${queue}:`;
  }

  /** A chord's state: its size and body (HASH); `:r` beside it holds the members' values by index. */
  chord(id: string): string {
    return `${this.prefix}:chord:${id}`;
  }

  result(id: string): string {
    return `${this.prefix}:result:${id}`;
  }

  /** Pub/Sub channel that announces a ready result (same name as the key; channels are a separate space). */
  resultChannel(id: string): string {
    return `${this.prefix}:result:${id}`;
  }

  get resultPrefix(): string {
    return `${this.prefix}:result:`;
  }

  get events(): string {
    return `${this.prefix}:events`;
  }

  get revoked(): string {
    return `${this.prefix}:revoked`;
  }

  get rates(): string {
    return `${this.prefix}:rates`;
  }

  get ratePrefix(): string {
    return `${this.prefix}:rate:`;
  }

  get control(): string {
    return `${this.prefix}:control`;
  }

  get queues(): string {
    return `${this.prefix}:queues`;
  }

  /** The beat leader's lease. */
  get beatLeader(): string {
    return `${this.prefix}:beat:leader`;
  }

  /** Per-entry beat state: last fired slot, next slot, when, how many times. */
  get beatState(): string {
    return `${this.prefix}:beat:state`;
  }

  get nodes(): string {
    return `${this.prefix}:nodes`;
  }

  node(name: string): string {
    return `${this.prefix}:node:${name}`;
  }
}
