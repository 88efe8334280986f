/**
 * A node's end of the control channel `<prefix>:control` (Pub/Sub, JSON `{op, …}`): `revoke` with
 * terminate, `rate_limit`, and `call` — remote control and inspection with replies. A node that is down
 * misses messages: what must not be missed lives in Redis too (the revoked set, `<prefix>:rates`).
 */
import type { Logger } from 'pino';
import type { Redis, RedisFactory } from '../broker/redis-factory.js';
import { parseRequest, type ControlRequest } from '../core/control-protocol.js';

export interface ControlHandlers {
  revoke(id: string, terminate: boolean): void;
  rateLimit(): void;
  /** A remote control or inspection request (core/control-protocol.ts). */
  call(request: ControlRequest): void;
}

/** How many recently revoked ids a node remembers (a revoke may arrive before the take reply with its job). */
const RECENT_REVOKES = 1000;

export class ControlListener {
  private sub: Redis | undefined;
  /** Bumped whenever the subscription is lost: messages may have been missed since. */
  epoch = 0;
  /** Subscribed now (messages reach this node as they are published). */
  connected = false;
  private readonly recent = new Set<string>();

  constructor(
    private readonly factory: RedisFactory,
    private readonly channel: string,
    private readonly label: string,
    private readonly handlers: ControlHandlers,
    private readonly log: Logger,
  ) {}

  async listen(): Promise<void> {
    const sub = await this.factory.connected('subscriber', this.label);
    this.sub = sub;
    sub.on('error', (err: unknown) => this.log.warn({ err }, 'control connection error (reconnecting)'));
    sub.on('message', (_channel: string, message: string) => this.dispatch(message));
    sub.on('close', () => {
      if (this.connected) this.epoch++;
      this.connected = false;
    });
    sub.on('ready', () => {
      // ioredis resubscribes by itself; subscribing again (idempotent) tells us when it is done.
      const epoch = this.epoch;
      sub.subscribe(this.channel).then(
        () => (this.connected = epoch === this.epoch),
        () => {},
      );
    });
    await sub.subscribe(this.channel);
    this.connected = true;
  }

  /** True if every message published since `epoch` was read (the subscription never dropped meanwhile). */
  intactSince(epoch: number): boolean {
    return this.connected && epoch === this.epoch;
  }

  /** A revoke for this id came in lately (possibly before the job itself reached this node). */
  revokedLately(id: string): boolean {
    return this.recent.has(id);
  }

  private dispatch(message: string): void {
    let command: { op?: unknown; id?: unknown; terminate?: unknown; method?: unknown };
    try {
      command = JSON.parse(message) as typeof command;
    } catch {
      this.log.warn({ message }, 'ignored an undecodable control message');
      return;
    }
    if (command?.op === 'call') {
      const parsed = parseRequest(command);
      if ('request' in parsed) this.handlers.call(parsed.request);
      else this.log.warn({ method: command.method, problem: parsed.problem }, 'ignored a control request this node cannot serve');
    } else if (command?.op === 'rate_limit') this.handlers.rateLimit();
    else if (command?.op === 'revoke' && typeof command.id === 'string') {
      this.remember(command.id);
      this.handlers.revoke(command.id, command.terminate === true);
    }
    else this.log.warn({ command }, 'ignored an unknown control command');
  }

  /** The ids revoked lately, newest last (inspect revoked). */
  recentRevokes(): string[] {
    return [...this.recent];
  }

  private remember(id: string): void {
    this.recent.add(id);
    if (this.recent.size > RECENT_REVOKES) this.recent.delete(this.recent.values().next().value as string);
  }

  close(): void {
    this.sub?.disconnect();
  }
}
