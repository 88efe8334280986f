/**
 * A node's end of the control channel `<prefix>:control` (Pub/Sub, JSON `{op, …}`): today `revoke`
 * with terminate and `rate_limit`; remote control and inspection build on it. A node that is down
 * misses messages: what must not be missed lives in Redis too (the revoked set, `<prefix>:rates`).
 */
import type { Logger } from 'pino';
import type { Redis, RedisFactory } from '../broker/redis-factory.js';

export interface ControlHandlers {
  revoke(id: string, terminate: boolean): void;
  rateLimit(): void;
}

export class ControlListener {
  private sub: Redis | undefined;

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
    await sub.subscribe(this.channel);
  }

  private dispatch(message: string): void {
    let command: { op?: unknown; id?: unknown; terminate?: unknown };
    try {
      command = JSON.parse(message) as typeof command;
    } catch {
      this.log.warn({ message }, 'ignored an undecodable control message');
      return;
    }
    if (command.op === 'rate_limit') this.handlers.rateLimit();
    else if (command.op === 'revoke' && typeof command.id === 'string') this.handlers.revoke(command.id, command.terminate === true);
    else this.log.warn({ command }, 'ignored an unknown control command');
  }

  close(): void {
    this.sub?.disconnect();
  }
}
