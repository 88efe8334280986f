/**
 * The node's reading of Redis's clock: the local clock plus an offset measured with TIME (half the
 * round trip taken off), refreshed with every heartbeat. Scripts decide with TIME themselves; the
 * node uses this where it compares with times Redis handed out (rate slots, expiry at start) and
 * for the timestamps it writes, so hosts with skewed clocks still agree.
 */
import type { Redis } from '../broker/redis-factory.js';

export class RedisClock {
  private offsetMs = 0;

  constructor(private readonly client: Redis) {}

  /** Measures the offset again (one TIME round trip). */
  async sync(): Promise<void> {
    const before = Date.now();
    const [seconds, micros] = await this.client.time();
    const after = Date.now();
    const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    this.offsetMs = redisMs - (before + after) / 2;
  }

  /** Redis's time now, in ms, as this node reads it. */
  now(): number {
    return Math.round(Date.now() + this.offsetMs);
  }
}
