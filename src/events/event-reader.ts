/**
 * Reads the event stream from a cursor. Any number of readers read independently (plain XREAD, no
 * consumer group), so each sees every event: a UI, a metrics exporter and a log can all follow it.
 *
 * `from`: a stream id (`1700000000000-0`) to resume after, `'$'` for new events only, `'0'` for the
 * start of retention, or a Date / ms time to start at that time.
 */
import type { Redis } from '../broker/redis-factory.js';
import { parseEntry, type TaskqEvent } from './event-types.js';

export type EventCursor = string | number | Date;

/** Stream id that XREAD resumes *after*, for a cursor. */
export function cursorToId(from: EventCursor): string {
  if (from instanceof Date) return `${Math.max(0, from.getTime() - 1)}-18446744073709551615`;
  if (typeof from === 'number') return `${Math.max(0, from - 1)}-18446744073709551615`;
  return from;
}

export interface ReadOptions {
  /** Max events per batch (default 500). */
  count?: number;
  /** Block up to this long waiting for new events (ms); 0/undefined = do not block. */
  blockMs?: number;
}

export class EventReader {
  private cursor: string;

  constructor(
    private readonly client: Redis,
    private readonly stream: string,
    from: EventCursor = '0',
  ) {
    this.cursor = cursorToId(from);
  }

  /** The id of the last event returned: resume a later reader from here. */
  get position(): string {
    return this.cursor;
  }

  /** Reads the next batch after the cursor (empty when none arrived within `blockMs`). */
  async read(options: ReadOptions = {}): Promise<TaskqEvent[]> {
    const count = options.count ?? 500;
    const args: Array<string | number> = ['COUNT', count];
    if (options.blockMs) args.push('BLOCK', options.blockMs);
    // '$' must be resolved once, or each call would skip what arrived between calls.
    if (this.cursor === '$') {
      const last = (await this.client.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      this.cursor = last[0]?.[0] ?? '0-0';
    }
    const reply = (await (this.client.xread as (...a: unknown[]) => Promise<unknown>)(
      ...args,
      'STREAMS',
      this.stream,
      this.cursor,
    )) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    const events = entries.map(([id, fields]) => parseEntry(id, fields));
    const last = events.at(-1);
    if (last) this.cursor = last.streamId;
    return events;
  }

  /** Yields events as they come until `signal` aborts. */
  async *follow(signal: AbortSignal, options: { count?: number; blockMs?: number } = {}): AsyncGenerator<TaskqEvent> {
    const blockMs = options.blockMs ?? 1000;
    while (!signal.aborted) {
      const batch = await this.read({ count: options.count ?? 500, blockMs });
      for (const event of batch) {
        if (signal.aborted) return;
        yield event;
      }
    }
  }
}
