/**
 * How a node shows it is alive: worker-online / worker-heartbeat / worker-offline events, the
 * `<prefix>:nodes` registry read by `taskq status`, and the stall keep-alive (one SREM per queue of
 * every job the node holds, so stall checks never re-deliver a job that is in good hands).
 */
import { hostname, loadavg } from 'node:os';
import type { Logger } from 'pino';
import type { Redis } from '../broker/redis-factory.js';
import type { App } from '../core/app.js';
import { EventWriter } from '../events/event-writer.js';
import { isRunning } from '../multi/process-identity.js';

export interface NodeInfo {
  node: string;
  queues: string[];
  concurrency: number;
  active: number;
  processed: number;
  succeeded: number;
  failed: number;
  retried: number;
  lost: number;
  /** Why the node stopped taking work on its own (absent: healthy). */
  problem?: string | undefined;
  /** Whether it writes task events now (-E, enable_events). */
  taskEvents?: boolean;
}

export class Presence {
  private readonly events: EventWriter;

  constructor(
    private readonly app: App,
    private readonly client: Redis,
    private readonly log: Logger,
    /** Redis's time as the node reads it: heartbeats are compared with Redis's clock. */
    private readonly now: () => number = Date.now,
  ) {
    const cfg = app.config;
    this.events = new EventWriter(client, app.keys.events, cfg.eventsMaxLen, cfg.events);
  }

  async online(info: Pick<NodeInfo, 'node' | 'queues' | 'concurrency'>): Promise<void> {
    await this.warnIfTaken(info.node);
    await this.events.write('worker-online', { ...info, pid: process.pid, hostname: hostname() });
  }

  /**
   * Celery's DuplicateNodenameWarning: another live process beats under this name. Replies to
   * inspect/control and `taskq status` would mix the two up. (Its own pid after a restart in place,
   * or a process on this host that is gone, is not another node.)
   */
  private async warnIfTaken(node: string): Promise<void> {
    const raw = await this.client.get(this.app.keys.node(node)).catch(() => null);
    if (!raw) return;
    let other: { pid?: unknown; hostname?: unknown };
    try {
      other = JSON.parse(raw) as typeof other;
    } catch {
      return;
    }
    const pid = Number(other.pid);
    if (!Number.isInteger(pid) || (other.hostname === hostname() && (pid === process.pid || !isRunning(pid)))) return;
    this.log.warn(
      { node, otherPid: pid, otherHost: other.hostname },
      `another node is running as ${node} (pid ${pid} on ${String(other.hostname)}): replies and status will mix the two up; give each node its own name (-n)`,
    );
  }

  async heartbeat(info: NodeInfo): Promise<void> {
    const { keys, config } = this.app;
    const now = this.now();
    const data = { ...info, pid: process.pid, hostname: hostname(), load: loadavg(), freq: config.heartbeatMs / 1000, time: now };
    const pipeline = this.client.pipeline();
    pipeline.zadd(keys.nodes, now, info.node);
    // The queue registry keeps the queues live nodes consume (stall checks drop empty, unconsumed ones).
    pipeline.sadd(keys.queues, ...info.queues);
    pipeline.set(keys.node(info.node), JSON.stringify(data), 'PX', config.heartbeatMs * 3);
    if (config.events) pipeline.xadd(keys.events, 'MAXLEN', '~', config.eventsMaxLen, '*', 'type', 'worker-heartbeat', 'data', JSON.stringify(data));
    await pipeline.exec();
  }

  async offline(info: NodeInfo): Promise<void> {
    await this.client.pipeline().zrem(this.app.keys.nodes, info.node).del(this.app.keys.node(info.node)).exec();
    await this.events.write('worker-offline', { ...info, pid: process.pid });
  }

  /** Proves the given jobs alive to the stall checks: one SREM per queue. */
  async keepAlive(jobs: Iterable<[id: string, queue: string]>): Promise<void> {
    const byQueue = new Map<string, string[]>();
    for (const [id, queue] of jobs) {
      const ids = byQueue.get(queue);
      if (ids) ids.push(id);
      else byQueue.set(queue, [id]);
    }
    await Promise.all(
      [...byQueue].map(([queue, ids]) =>
        this.client.srem(this.app.keys.queue(queue, 'stalling'), ...ids).catch((err: unknown) => this.log.warn({ err }, 'stall keep-alive failed')),
      ),
    );
  }
}
