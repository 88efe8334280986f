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

/** The synthetic event a reader yields first when events after its cursor were trimmed before it read them. */
export const EVENTS_MISSED = 'events-missed';

/** Compares two stream ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((x) => BigInt(x));
  const [bm = 0n, bs = 0n] = b.split('-').map((x) => BigInt(x));
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

interface StreamInfo {
  length: number;
  entriesAdded: number;
  firstId: string | undefined;
}

function parseInfo(flat: unknown[]): StreamInfo {
  const get = (name: string): unknown => flat[flat.indexOf(name) + 1];
  const first = get('first-entry') as [string, string[]] | null | undefined;
  return { length: Number(get('length')), entriesAdded: Number(get('entries-added')), firstId: first?.[0] };
}

export class EventReader {
  private cursor: string;
  /** How many events the stream had ever received up to and including the cursor (when known). */
  private ordinal: number | undefined;

  constructor(
    private readonly client: Redis,
    private readonly stream: string,
    from: EventCursor = '0',
  ) {
    this.cursor = cursorToId(from);
    if (this.cursor === '0' || this.cursor === '0-0') this.ordinal = 0;
  }

  /** The id of the last event returned: resume a later reader from here. */
  get position(): string {
    return this.cursor;
  }

  /**
   * Reads the next batch after the cursor (empty when none arrived within `blockMs`). If events after
   * the cursor were trimmed before this reader got to them, the batch starts with an
   * `events-missed` event: `{after, resumedAt, missed}` (`missed` null when the cursor came from
   * elsewhere and the count cannot be known).
   */
  async read(options: ReadOptions = {}): Promise<TaskqEvent[]> {
    const count = options.count ?? 500;
    // '$' must be resolved once, or each call would skip what arrived between calls.
    if (this.cursor === '$') {
      const last = (await this.client.xrevrange(this.stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      this.cursor = last[0]?.[0] ?? '0-0';
      this.ordinal = undefined;
    }
    // The stream's counters and the batch in one MULTI: they describe the same moment.
    const replies = await this.client.multi().xinfo('STREAM', this.stream).xread('COUNT', count, 'STREAMS', this.stream, this.cursor).exec();
    const [infoErr, infoFlat] = replies?.[0] ?? [];
    const [readErr, reply] = replies?.[1] ?? [];
    if (readErr) throw readErr;
    let entries = ((reply as Array<[string, Array<[string, string[]]>]> | null)?.[0]?.[1]) ?? [];
    const info = infoErr ? undefined : parseInfo(infoFlat as unknown[]);
    const events: TaskqEvent[] = [];
    if (info) {
      const trimmed = info.entriesAdded - info.length;
      const gap = this.gap(info, trimmed);
      if (gap) events.push(gap);
      this.ordinal = this.ordinalAfter(entries, count, info, trimmed, gap !== undefined);
    }
    if (!entries.length && options.blockMs) {
      const blocked = (await (this.client.xread as (...a: unknown[]) => Promise<unknown>)('COUNT', count, 'BLOCK', options.blockMs, 'STREAMS', this.stream, this.cursor)) as Array<[string, Array<[string, string[]]>]> | null;
      entries = blocked?.[0]?.[1] ?? [];
      if (this.ordinal !== undefined) this.ordinal += entries.length;
    }
    for (const [id, fields] of entries) events.push(parseEntry(id, fields));
    const last = entries.at(-1);
    if (last) this.cursor = last[0];
    return events;
  }

  /** How many events the stream had received up to the last entry of this batch, when it can be known. */
  private ordinalAfter(entries: Array<[string, string[]]>, count: number, info: StreamInfo, trimmed: number, gap: boolean): number | undefined {
    const n = entries.length;
    // Nothing after the cursor, or read up to the end: the batch ends at the stream's last event.
    if (n === 0 || n < count) return info.entriesAdded;
    if (entries[0]![0] === info.firstId) return trimmed + n;
    return !gap && this.ordinal !== undefined ? this.ordinal + n : undefined;
  }

  /** The events-missed notice, if events after the cursor were trimmed unread. */
  private gap(info: StreamInfo, trimmed: number): TaskqEvent | undefined {
    if (trimmed === 0 || this.cursor === '0' || this.cursor === '0-0') return undefined;
    if (info.firstId === undefined || compareIds(this.cursor, info.firstId) >= 0) return undefined;
    let missed: number | null = null;
    if (this.ordinal !== undefined) {
      missed = trimmed - this.ordinal;
      if (missed <= 0) return undefined;
    }
    const time = Number(this.cursor.split('-')[0]);
    return { streamId: this.cursor, type: EVENTS_MISSED, time, data: { after: this.cursor, resumedAt: info.firstId, missed } };
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
