/**
 * A node's answers to remote control and inspection (core/control-protocol.ts): runs the method on
 * the node and RPUSHes one reply to the caller's list. A request for other nodes is ignored; a reply
 * list other than `<prefix>:reply:<request id>` is refused (a request must not make nodes write
 * anywhere else); a method that fails replies with its error instead of crashing anything.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Redis } from '../broker/redis-factory.js';
import { assertQueueName } from '../broker/keys.js';
import type { App } from '../core/app.js';
import { CONTROL_VERSION, INSPECT_METHODS, type ControlAck, type ControlReply, type ControlRequest, type NodeStats } from '../core/control-protocol.js';
import { defaults } from '../defaults.js';
import { OptionError, TaskqError } from '../errors.js';
import type { JobsSnapshot, WorkerStats } from './worker-types.js';

/** Per-task time limits set by remote control (seconds on the wire, ms here). */
export interface TaskLimits {
  softTimeLimitMs?: number | undefined;
  timeLimitMs?: number | undefined;
}

/** What the responder needs of its node. */
export interface ControlTarget {
  readonly app: App;
  readonly name: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly stats: WorkerStats;
  readonly limitOverrides: Map<string, TaskLimits>;
  jobs(): JobsSnapshot;
  describe(): Omit<NodeStats, 'node' | 'pid' | 'hostname' | 'rusage' | 'rssKb' | 'broker' | 'queues' | 'counts'>;
  revokedIds(): string[];
  grow(): Promise<void>;
  shrink(): Promise<void>;
  setAutoscale(max: number, min: number): void;
  addConsumer(queue: string): Promise<boolean>;
  cancelConsumer(queue: string): Promise<boolean>;
  refreshRates(): Promise<void>;
  revoke(id: string, terminate: boolean): void;
  /** Task events on or off (Celery's enable_events / disable_events); false when the app writes no events at all. */
  setTaskEvents(on: boolean): boolean;
  stop(): Promise<void>;
}

const REPLY_TTL_MS = 60_000;

function count(args: Record<string, unknown>, method: string): number {
  const n = args.n ?? 1;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > defaults.maxConcurrency) throw new OptionError(`${method}: n must be an integer from 1 to ${defaults.maxConcurrency}, got ${JSON.stringify(n)}`);
  return n as number;
}

function seconds(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new OptionError(`time_limit: ${what} must be a positive number of seconds, got ${JSON.stringify(value)}`);
  return Math.round(value * 1000);
}

function taskArg(args: Record<string, unknown>, method: string, app: App): string {
  const task = args.task;
  if (typeof task !== 'string' || !app.tasks.has(task)) throw new TaskqError('TASKQ_TASK_UNKNOWN', `${method}: task ${JSON.stringify(task)} is not registered on this node`);
  return task;
}

export class ControlResponder {
  constructor(
    private readonly node: ControlTarget,
    private readonly client: Redis,
    private readonly log: Logger,
  ) {}

  async serve(request: ControlRequest): Promise<void> {
    if (request.destination && !request.destination.includes(this.node.name)) return;
    if (request.replyTo !== `${this.node.app.keys.prefix}:reply:${request.id}`) {
      this.log.warn({ replyTo: request.replyTo }, 'ignored a control request whose reply list is not <prefix>:reply:<id>');
      return;
    }
    let reply: ControlReply;
    try {
      const result = await this.run(request.method, request.args);
      reply = { v: CONTROL_VERSION, id: request.id, node: this.node.name, ok: true, result };
    } catch (err) {
      const e = err as Error & { code?: string };
      reply = { v: CONTROL_VERSION, id: request.id, node: this.node.name, ok: false, error: { code: e.code ?? 'TASKQ_INTERNAL', message: e.message } };
    }
    await this.client.multi().rpush(request.replyTo, JSON.stringify(reply)).pexpire(request.replyTo, REPLY_TTL_MS).exec();
    // Inspection is routine (a UI polls it); a change to the node is worth a line at info.
    const level = (INSPECT_METHODS as readonly string[]).includes(request.method) ? 'debug' : 'info';
    this.log[level]({ method: request.method, args: request.args, ok: reply.ok }, `remote control: ${request.method}`);
    if (request.method === 'shutdown' && reply.ok) void this.node.stop();
  }

  private async run(method: ControlRequest['method'], args: Record<string, unknown>): Promise<unknown> {
    const node = this.node;
    switch (method) {
      case 'ping':
        return 'pong';
      case 'stats':
        return this.stats();
      case 'active':
      case 'reserved':
      case 'scheduled':
        return node.jobs()[method];
      case 'registered':
        return [...node.app.tasks.keys()].sort();
      case 'active_queues':
        return [...node.queues];
      case 'revoked':
        return node.revokedIds();
      case 'conf':
        // The node's own switch, which -E and enable_events change, not only the app's default.
        return { ...node.app.config, taskEvents: node.describe().taskEvents ?? node.app.config.taskEvents, broker: node.app.redis.display };
      default:
        return this.control(method, args);
    }
  }

  private stats(): NodeStats {
    const node = this.node;
    const r = process.resourceUsage();
    return {
      node: node.name,
      pid: process.pid,
      hostname: hostname(),
      broker: node.app.redis.display,
      queues: [...node.queues],
      counts: { ...node.stats },
      ...node.describe(),
      rusage: { userCpuMs: Math.round(r.userCPUTime / 1000), systemCpuMs: Math.round(r.systemCPUTime / 1000), maxRssKb: r.maxRSS },
      rssKb: Math.round(process.memoryUsage().rss / 1024),
    };
  }

  private async control(method: ControlRequest['method'], args: Record<string, unknown>): Promise<ControlAck> {
    const node = this.node;
    switch (method) {
      case 'shutdown':
        return { ok: 'shutting down (warm)' };
      case 'enable_events':
        return { ok: node.setTaskEvents(true) ? 'task events enabled' : 'task events stay off: this app writes no events (TASKQ_EVENTS=0)' };
      case 'disable_events':
        node.setTaskEvents(false);
        return { ok: 'task events disabled' };
      case 'pool_grow':
      case 'pool_shrink': {
        const n = count(args, method);
        if (method === 'pool_shrink' && node.concurrency - n < 1) throw new OptionError(`pool_shrink: the node has ${node.concurrency} slots; it keeps at least 1`);
        for (let i = 0; i < n; i++) await (method === 'pool_grow' ? node.grow() : node.shrink());
        return { ok: `pool now ${node.concurrency} slots` };
      }
      case 'autoscale': {
        const max = Number(args.max);
        const min = Number(args.min ?? 1);
        node.setAutoscale(max, min);
        return { ok: `autoscale now ${max},${min}` };
      }
      case 'add_consumer':
      case 'cancel_consumer': {
        const queue = String(args.queue);
        assertQueueName(queue, method);
        const changed = await (method === 'add_consumer' ? node.addConsumer(queue) : node.cancelConsumer(queue));
        const verb = method === 'add_consumer' ? 'consuming' : 'no longer consuming';
        return { ok: changed ? `${verb} from ${queue}` : `already ${verb} from ${queue}` };
      }
      case 'rate_limit':
        await node.refreshRates();
        // As Celery's: a node that does not run the task says so (the limit stays stored for nodes that do).
        if (typeof args.task === 'string' && !node.app.tasks.has(args.task)) {
          throw new TaskqError('TASKQ_TASK_UNKNOWN', `rate_limit: task ${JSON.stringify(args.task)} is not registered on this node (the limit is stored for nodes that run it)`);
        }
        return { ok: `rate limits re-read${typeof args.task === 'string' ? ` (${args.task})` : ''}` };
      case 'time_limit': {
        const task = taskArg(args, method, node.app);
        const limits = { softTimeLimitMs: seconds(args.soft, 'soft'), timeLimitMs: seconds(args.hard, 'hard') };
        if (limits.softTimeLimitMs && limits.timeLimitMs && limits.softTimeLimitMs >= limits.timeLimitMs) throw new OptionError('time_limit: soft must be below hard');
        node.limitOverrides.set(task, limits);
        return { ok: `time limits of ${task} now soft ${args.soft ?? 'none'} s, hard ${args.hard ?? 'none'} s` };
      }
      case 'revoke': {
        const ids = Array.isArray(args.ids) ? args.ids.filter((i): i is string => typeof i === 'string') : [];
        for (const id of ids) node.revoke(id, args.terminate === true);
        return { ok: `revoked ${ids.join(', ')}` };
      }
      default:
        throw new OptionError(`unknown method ${method}`);
    }
  }
}
