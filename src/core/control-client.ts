/**
 * The caller's side of remote control (`app.control`): broadcasts a request to every node, or to the
 * named ones, and gathers one reply per node. Unlike Celery, which always waits its whole timeout, it
 * returns as soon as every node it expects has answered — the named ones, or every node alive by the
 * heartbeat registry — and the timeout only bounds the wait for the rest.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../broker/redis-factory.js';
import { OptionError } from '../errors.js';
import type { App } from './app.js';
import { CONTROL_VERSION, parseReply, type ControlAck, type ControlMethod, type ControlReply, type ControlRequest, type InspectMethod, type InspectResults, type Method } from './control-protocol.js';
import { aliveNodes } from './queue-admin.js';

/** Where a request goes and how long to wait for replies. */
export interface ControlOptions {
  /** Node names (`w1@host`) it is for; default: every node. */
  destination?: string[];
  /** Longest wait for replies (ms, default 1000 as Celery). */
  timeoutMs?: number;
}

export interface Gathered<T> {
  replies: Array<ControlReply<T>>;
  /** Replies that could not be read: another version or garbage (not crashed on). */
  ignored: number;
  /** Expected nodes that did not answer in time. */
  missing: string[];
}

const DEFAULT_TIMEOUT_MS = 1000;

export class ControlClient {
  private blocking: Promise<Redis> | undefined;

  constructor(private readonly app: App) {}

  /** Asks the nodes (Celery's `app.control.inspect()`): what each runs, holds, knows. */
  inspect<M extends InspectMethod>(method: M, options: ControlOptions = {}): Promise<Gathered<InspectResults[M]>> {
    return this.call<InspectResults[M]>(method, {}, options);
  }

  /**
   * Tells the nodes to change something: `shutdown`, `enable_events` / `disable_events` (task events), `pool_grow` / `pool_shrink` `{n}`, `autoscale`
   * `{max, min}`, `add_consumer` / `cancel_consumer` `{queue}`, `rate_limit` `{task}` (after
   * `app.setRateLimit`), `time_limit` `{task, soft, hard}` (seconds), `revoke` `{ids, terminate}`.
   */
  control(method: ControlMethod, args: Record<string, unknown> = {}, options: ControlOptions = {}): Promise<Gathered<ControlAck>> {
    return this.call<ControlAck>(method, args, options);
  }

  /** Sends `method` and gathers the replies. */
  async call<T = unknown>(method: Method, args: Record<string, unknown> = {}, options: ControlOptions = {}): Promise<Gathered<T>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new OptionError(`control timeout must be a positive number of ms, got ${timeoutMs}`);
    const destination = options.destination?.length ? options.destination : null;
    const client = await this.app.client();
    const expected = destination ?? (await aliveNodes(this.app)).map((n) => n.node);
    const id = randomUUID();
    const replyTo = `${this.app.keys.prefix}:reply:${id}`;
    const request: ControlRequest = { op: 'call', v: CONTROL_VERSION, id, method, args, destination, replyTo };
    const deadline = Date.now() + timeoutMs;
    await client.publish(this.app.keys.control, JSON.stringify(request));
    const blocking = await this.blockingClient();
    const replies = new Map<string, ControlReply<T>>();
    let ignored = 0;
    try {
      while (expected.some((n) => !replies.has(n)) || (expected.length === 0 && Date.now() < deadline)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const popped = await blocking.blpop(replyTo, Math.max(0.01, left / 1000));
        if (!popped) break;
        const reply = parseReply(popped[1], id) as ControlReply<T> | undefined;
        if (!reply || (destination && !destination.includes(reply.node))) ignored++;
        else replies.set(reply.node, reply);
      }
    } finally {
      await client.del(replyTo);
    }
    return { replies: [...replies.values()].sort((a, b) => a.node.localeCompare(b.node)), ignored, missing: expected.filter((n) => !replies.has(n)) };
  }

  private blockingClient(): Promise<Redis> {
    this.blocking ??= this.app.redis.connected('blocking', 'control').then(
      (c) => {
        c.on('error', () => {});
        return c;
      },
      (err: unknown) => {
        this.blocking = undefined;
        throw err;
      },
    );
    return this.blocking;
  }
}
