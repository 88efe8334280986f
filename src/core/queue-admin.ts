/** Queue administration for the CLI and the future web UI: counts, nodes alive, purge, dead letters. */
import type { App } from './app.js';
import { decodeJobRecord, encodeJobRecord, peekTaskName } from '../broker/message.js';
import { runScript } from '../broker/scripts.js';
import { asBroker } from '../broker/broker-errors.js';

export interface QueueStatus {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  dead: number;
}

export interface NodeStatus {
  node: string;
  pid?: number;
  active?: number;
  processed?: number;
  queues?: string[];
  lastSeenMs: number;
  /** Why the node stopped taking work on its own (absent: healthy). */
  problem?: string;
  /** Whether it writes task events (absent: a node that does not say). */
  taskEvents?: boolean;
}

export interface DeadJob {
  queue: string;
  id: string;
  task: string;
  diedAt: number;
  attempts: number;
  stalls: number;
  error: string;
}

/** Every queue known to the broker (used by producers or workers) plus `extra`. */
export async function listQueues(app: App, extra: string[] = []): Promise<string[]> {
  const client = await app.client();
  const known = await client.smembers(app.keys.queues);
  return [...new Set([...known, ...extra])].sort();
}

export async function queueStatus(app: App, queues: string[]): Promise<QueueStatus[]> {
  const client = await app.client();
  const k = app.keys;
  const pipeline = client.pipeline();
  for (const q of queues) {
    const waiting = k.queue(q, 'waiting');
    pipeline.llen(k.queue(q, 'active')).zcard(k.queue(q, 'delayed')).zcard(k.queue(q, 'dead'));
    pipeline.llen(waiting).llen(`${waiting}:high`).llen(`${waiting}:low`).lpos(waiting, '~wake', 'COUNT', 0);
  }
  const replies = (await pipeline.exec()) ?? [];
  const value = (i: number): number => {
    const [err, v] = replies[i] ?? [new Error('no reply'), 0];
    if (err) throw err;
    return Number(v);
  };
  const per = 7;
  return queues.map((queue, i) => {
    const tokens = (replies[i * per + 6]?.[1] as unknown[] | null)?.length ?? 0;
    return {
      queue,
      // Every priority level; wake tokens are not jobs.
      waiting: value(i * per + 3) + value(i * per + 4) + value(i * per + 5) - tokens,
      active: value(i * per),
      delayed: value(i * per + 1),
      dead: value(i * per + 2),
    };
  });
}

/** Nodes whose heartbeat is younger than three heartbeat periods; older entries are pruned. */
export async function aliveNodes(app: App, at?: number): Promise<NodeStatus[]> {
  const client = await app.client();
  // Heartbeats are stamped with Redis's clock: compare with it, not with this host's.
  const [seconds, micros] = await client.time();
  const now = at ?? Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const cutoff = now - app.config.heartbeatMs * 3;
  await client.zremrangebyscore(app.keys.nodes, '-inf', `(${cutoff}`);
  const entries = await client.zrange(app.keys.nodes, '0', '-1', 'WITHSCORES');
  const nodes: NodeStatus[] = [];
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const name = entries[i] as string;
    const info = await client.get(app.keys.node(name));
    const parsed = info ? (JSON.parse(info) as Partial<NodeStatus> & { node: string }) : { node: name };
    nodes.push({ ...parsed, node: name, lastSeenMs: now - Number(entries[i + 1]) });
  }
  return nodes;
}

export async function purgeQueue(app: App, queue: string): Promise<number> {
  const client = await app.client();
  const k = app.keys;
  return Number(await asBroker(`purging ${queue}`, () => runScript(client, 'taskqPurge', [k.queue(queue, 'waiting'), k.queue(queue, 'delayed'), k.queue(queue, 'jobs')], [])));
}

export async function listDead(app: App, queues: string[], limit = 100): Promise<DeadJob[]> {
  const client = await app.client();
  const out: DeadJob[] = [];
  for (const queue of queues) {
    const entries = await client.zrevrange(app.keys.queue(queue, 'dead'), 0, limit - 1, 'WITHSCORES');
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const id = entries[i] as string;
      const raw = await client.hget(app.keys.queue(queue, 'jobs'), id);
      const job: DeadJob = { queue, id, task: raw ? peekTaskName(raw) : '<gone>', diedAt: Number(entries[i + 1]), attempts: 0, stalls: 0, error: '' };
      if (raw) {
        try {
          const rec = decodeJobRecord(raw, id, queue);
          job.attempts = rec.options.attempt;
          job.stalls = rec.stalls;
          job.error = rec.options.lastError ? `${rec.options.lastError.name}: ${rec.options.lastError.message}` : rec.stalls ? `stalled ${rec.stalls} times` : '';
        } catch (err) {
          job.error = (err as Error).message;
        }
      }
      out.push(job);
    }
  }
  return out.sort((a, b) => b.diedAt - a.diedAt).slice(0, limit);
}

/** Re-queues dead jobs (fresh attempt count); returns the ids re-queued. Undecodable records stay dead. */
export async function retryDead(app: App, queue: string, ids: string[]): Promise<string[]> {
  const client = await app.client();
  const k = app.keys;
  const done: string[] = [];
  for (const id of ids) {
    const raw = await asBroker(`reading dead job ${id} of ${queue}`, () => client.hget(k.queue(queue, 'jobs'), id));
    if (!raw) continue;
    const rec = decodeJobRecord(raw, id, queue);
    const { id: _id, queue: _queue, stacktraces: _st, ...options } = rec.options;
    const fresh = encodeJobRecord({ stalls: 0, data: rec.data, options: { ...options, attempt: 1 } });
    const event = app.config.events ? JSON.stringify({ id, task: rec.data.task, queue, retriedFromDead: true }) : '';
    const moved = await asBroker(`retrying dead job ${id} of ${queue}`, () =>
      runScript(client, 'taskqDeadRetry', [k.queue(queue, 'dead'), k.queue(queue, 'jobs'), k.queue(queue, 'waiting'), k.result(id), k.events], [id, fresh, event, app.config.eventsMaxLen]),
    );
    if (moved === 1) done.push(id);
  }
  return done;
}

export async function purgeDead(app: App, queue: string): Promise<number> {
  const client = await app.client();
  return Number(await asBroker(`purging the dead letters of ${queue}`, () => runScript(client, 'taskqDeadPurge', [app.keys.queue(queue, 'dead'), app.keys.queue(queue, 'jobs')], [])));
}
