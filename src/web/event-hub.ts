/**
 * The UI's one live reader of the event stream (a blocking XREAD on its own connection), feeding the
 * task state, the metrics and every connected live client. A client that comes with a cursor (SSE's
 * Last-Event-ID) first catches up from Redis with its own non-blocking reads, then joins the live
 * feed; events that arrive meanwhile are buffered and deduplicated by stream id, so it misses none and
 * sees none twice.
 */
import type { App } from '../core/app.js';
import type { Redis } from '../broker/redis-factory.js';
import { EventReader, type EventCursor } from '../events/event-reader.js';
import type { TaskqEvent } from '../events/event-types.js';

export type EventListener = (e: TaskqEvent) => void;

/** `a` after `b` in stream order (`<ms>-<seq>`). */
export function after(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am > bm : as > bs;
}

export class EventHub {
  private readonly listeners = new Set<EventListener>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private client: Redis | undefined;
  /** The last event read live. */
  position = '0-0';

  constructor(
    private readonly app: App,
    private readonly onError: (err: Error) => void,
  ) {}

  /**
   * Starts reading from `from` (default: the last day's events, so the task list is not empty). It
   * does not wait for Redis: while Redis is away it retries every second, and the UI still answers.
   */
  async start(from: EventCursor = Date.now() - 24 * 3600_000): Promise<void> {
    let reader: EventReader | undefined;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          this.client ??= await this.app.redis.connected('blocking', 'ui-events');
          reader ??= new EventReader(this.client, this.app.keys.events, from);
          const batch = await reader.read({ count: 1000, blockMs: 1000 });
          for (const e of batch) {
            this.position = e.streamId.includes('-') ? e.streamId : this.position;
            for (const l of this.listeners) l(e);
          }
        } catch (err) {
          if (this.stopped) return;
          this.onError(err as Error);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  /** Every live event from now on; returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sends `listener` every event after `cursor` (from Redis; at most `maxCatchUp` of them), then every
   * live one: in order, none missed, none twice. `complete` is false when the catch-up stopped at its
   * cap (the caller ends the stream; the client resumes from the last id it got).
   */
  async follow(cursor: EventCursor, listener: EventListener, signal: AbortSignal, maxCatchUp = Infinity): Promise<{ unsubscribe: () => void; complete: boolean }> {
    const buffered: TaskqEvent[] = [];
    let caughtUp = false;
    const client = await this.app.client();
    // '$' is now: whatever the live reader still replays from before it is not new to this client.
    let last = '0-0';
    if (cursor === '$') {
      const newest = (await client.xrevrange(this.app.keys.events, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      last = newest[0]?.[0] ?? '0-0';
      cursor = last;
    }
    const deliver = (e: TaskqEvent): void => {
      if (e.streamId.includes('-') && !after(e.streamId, last)) return;
      if (e.streamId.includes('-')) last = e.streamId;
      listener(e);
    };
    const unsubscribe = this.subscribe((e) => (caughtUp ? deliver(e) : buffered.length < 100_000 && buffered.push(e)));
    try {
      const reader = new EventReader(client, this.app.keys.events, cursor);
      let read = 0;
      while (!signal.aborted) {
        if (read >= maxCatchUp) return { unsubscribe, complete: false };
        const batch = await reader.read({ count: 1000 });
        for (const e of batch) deliver(e);
        read += batch.length;
        if (batch.length < 1000) break;
      }
      for (const e of buffered) deliver(e);
      buffered.length = 0;
      caughtUp = true;
      return { unsubscribe, complete: true };
    } catch (err) {
      unsubscribe();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.client?.disconnect();
    await this.loop;
  }
}
