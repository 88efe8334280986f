/**
 * Keeps task events on in the worker nodes while the web UI runs, as Flower does: it shows tasks
 * from task events, which nodes write only when told (-E, or remote control `enable_events`). It
 * tells every node when it starts, each node that comes online (seen on the event stream), and every
 * node again every `intervalMs`, for one it missed. A node that does not answer is only logged.
 */
import type { Logger } from 'pino';
import type { App } from '../core/app.js';
import { aliveNodes } from '../core/queue-admin.js';
import { ControlClient } from '../core/control-client.js';
import type { TaskqEvent } from '../events/event-types.js';

/** How long one enable_events call waits for the nodes' answers (they answer in milliseconds). */
const REPLY_TIMEOUT_MS = 1000;
/**
 * A worker-online event older than this is history the hub reads at start (the last day's): those
 * nodes were told at start if they are alive, and each call to a gone one would wait out its timeout.
 */
const FRESH_MS = 10_000;

export class EventsEnabler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Its own reply connection: a wait for a silent node must not hold up the UI's inspect calls. */
  private readonly control: ControlClient;

  constructor(
    private readonly app: App,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.control = new ControlClient(app);
  }

  /** Tells every node now and every `intervalMs` from now on. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.enable(), this.intervalMs);
    this.timer.unref();
    return this.enable();
  }

  /** For the hub's listener: a node that just came online is told at once. */
  readonly onEvent = (e: TaskqEvent): void => {
    if (e.type === 'worker-online' && typeof e.data.node === 'string' && Date.now() - e.time < FRESH_MS) void this.enable([e.data.node]);
  };

  /** Sends enable_events (to `nodes`, or every node); never throws: the UI runs on without them. */
  async enable(nodes?: string[]): Promise<void> {
    if (this.stopped) return;
    try {
      // Named nodes: the call ends as soon as each has answered (a call to "every node" waits out its timeout).
      // The sweep tells only nodes whose heartbeat says their events are off (or that do not say).
      const destination = nodes ?? (await aliveNodes(this.app)).filter((n) => n.taskEvents !== true).map((n) => n.node);
      if (!destination.length) return;
      const { replies, missing } = await this.control.control('enable_events', {}, { timeoutMs: REPLY_TIMEOUT_MS, destination });
      const refused = replies.filter((r) => !r.ok);
      if (refused.length || missing.length) this.log.warn({ refused: refused.map((r) => r.node), missing }, 'ui: some nodes did not turn task events on; their tasks are not shown');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ui: could not ask the nodes to turn task events on; trying again later');
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
