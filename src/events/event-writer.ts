/** Appends worker events (task events are written by the Lua scripts in the same round trip). */
import type { Redis } from '../broker/redis-factory.js';
import type { EventType } from './event-types.js';

export class EventWriter {
  constructor(
    private readonly client: Redis,
    private readonly stream: string,
    private readonly maxLen: number,
    readonly enabled: boolean,
  ) {}

  async write(type: EventType, data: Record<string, unknown>): Promise<void> {
    if (!this.enabled) return;
    await this.client.xadd(this.stream, 'MAXLEN', '~', this.maxLen, '*', 'type', type, 'data', JSON.stringify(data));
  }
}
