/**
 * Delivery entries: how a job a worker holds is listed in its queue's `active` list (see
 * lua/lib/common.lua). One take of a job by one node is one delivery, named by a token; only the
 * delivery whose entry is still listed owns the job (may record its outcome, re-enqueue or requeue it).
 */
import { randomBytes } from 'node:crypto';

/** The `active` entry of delivery `token` of job `id`. */
export function deliveryEntry(token: string, id: string): string {
  return `~${token}~${id}`;
}

/** Makes delivery token bases unique to this process: `<random>.<n>` (take.lua appends `.<i>` per job). */
export class DeliveryTokens {
  private readonly origin = randomBytes(6).toString('hex');
  private seq = 0;

  /** A fresh base for one take call. */
  next(): string {
    this.seq++;
    return `${this.origin}.${this.seq.toString(36)}`;
  }
}
