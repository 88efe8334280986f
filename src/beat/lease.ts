/**
 * The beat leader's lease in Redis (beat-lease.lua): one token per beat process; the holder renews it
 * well before it runs out, a standby takes it once it has. Fires are fenced by the same token
 * (beat-fire.lua), so a leader that was paused past its lease cannot send anything.
 */
import type { Redis } from '../broker/redis-factory.js';
import { runScript } from '../broker/scripts.js';

export class Lease {
  constructor(
    private readonly client: Redis,
    private readonly key: string,
    readonly token: string,
    readonly ms: number,
  ) {}

  private async call(mode: 'acquire' | 'renew' | 'release'): Promise<number> {
    return Number(await runScript(this.client, 'taskqBeatLease', [this.key], [this.token, mode, this.ms]));
  }

  /**
   * Takes the lease if it is free (or renews it if this token holds it): 0 when held now, otherwise
   * the ms another holder's lease has left.
   */
  async acquire(): Promise<number> {
    const r = await this.call('acquire');
    return r === 1 ? 0 : -r;
  }

  /** Extends this token's lease; false if it no longer holds it. */
  async renew(): Promise<boolean> {
    return (await this.call('renew')) === 1;
  }

  /** Gives the lease up (a standby takes over at once), if this token holds it. */
  async release(): Promise<boolean> {
    return (await this.call('release')) === 1;
  }
}
