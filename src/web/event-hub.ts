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

  /** Starts reading from `from` (default: the last day's events, so the task list is not empty). */
  async start(from: EventCursor = Date.now() - 24 * 3600_000): Promise<void> {
    this.client = await this.app.redis.connected('blocking', 'ui-events');
    const reader = new EventReader(this.client, this.app.keys.events, from);
    this.loop = (async () => {
      while (!this.stopped) {
        try {
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
   * Sends `listener` every event after `cursor` (from Redis), then every live one: in order, none
   * missed, none twice. Returns the unsubscribe.
   */
  async follow(cursor: EventCursor, listener: EventListener, signal: AbortSignal): Promise<() => void> {
    const buffered: TaskqEvent[] = [];
    let caughtUp = false;
    let last = '0-0';
    const deliver = (e: TaskqEvent): void => {
      if (e.streamId.includes('-') && !after(e.streamId, last)) return;
      if (e.streamId.includes('-')) last = e.streamId;
      listener(e);
    };
    const unsubscribe = this.subscribe((e) => (caughtUp ? deliver(e) : buffered.push(e)));
    const client = await this.app.client();
    const reader = new EventReader(client, this.app.keys.events, cursor);
    for (let batches = 0; !signal.aborted && batches < 10_000; batches++) {
      const batch = await reader.read({ count: 1000 });
      for (const e of batch) deliver(e);
      if (batch.length < 1000) break;
    }
    for (const e of buffered) deliver(e);
    caughtUp = true;
    return unsubscribe;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.client?.disconnect();
    await this.loop;
  }
}
