/**
 * Celery's --autoscale max,min: every tick, one more slot when every slot is busy and the last take
 * found a backlog; one less after IDLE_TICKS ticks with a slot to spare. The node moves its pool
 * children with its slots.
 */
import type { Logger } from 'pino';

/** How often autoscale looks at the load (ms), and how many idle looks shrink the pool by one. */
const TICK_MS = 250;
const IDLE_TICKS = 8;

export interface Scalable {
  readonly busy: number;
  readonly concurrency: number;
  /** The last take filled every slot it asked for (cleared here when the node has room). */
  backlog: boolean;
  /** Adds a slot (and a pool child). */
  grow(): Promise<void>;
  /** Removes a slot (and a pool child). */
  shrink(): Promise<void>;
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private idleTicks = 0;
  private ticking = false;

  constructor(
    private readonly target: Scalable,
    readonly range: { min: number; max: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const t = this.target;
      const full = t.busy >= t.concurrency;
      if (full && t.backlog && t.concurrency < this.range.max) {
        this.idleTicks = 0;
        await t.grow();
        this.log.info({ concurrency: t.concurrency }, 'autoscale: grew');
      } else if (!full) {
        t.backlog = false;
        if (++this.idleTicks >= IDLE_TICKS && t.concurrency > this.range.min) {
          this.idleTicks = 0;
          await t.shrink();
          this.log.info({ concurrency: t.concurrency }, 'autoscale: shrank');
        }
      } else {
        this.idleTicks = 0;
      }
    } catch (err) {
      this.log.error({ err }, 'autoscale step failed');
    } finally {
      this.ticking = false;
    }
  }
}
