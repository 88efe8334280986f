/**
 * One download of a resource at a time across every download node: a lease in Redis
 * (`<prefix>:cache:lock:<id>`), taken with SET NX PX and kept alive while the download runs. A node
 * killed mid-download stops renewing it; its re-delivered job takes the lease once it lapses and
 * continues the same partial file, so no second copy is ever made.
 */
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface ResourceLease {
  /** False once the lease was lost (not renewed in time); the holder should stop. */
  readonly held: boolean;
  release(): Promise<void>;
}

/**
 * Waits for the lease of resource `id`, or for `done()` to say another node finished it (then
 * resolves undefined). Honours `signal`.
 */
export async function acquireResource(redis: Redis, key: string, owner: string, options: { ttlMs?: number; signal: AbortSignal; done: () => Promise<boolean> }): Promise<ResourceLease | undefined> {
  const ttlMs = options.ttlMs ?? 15_000;
  for (;;) {
    options.signal.throwIfAborted();
    if ((await redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK') break;
    if (await options.done()) return undefined;
    await sleep(Math.min(1000, ttlMs / 4), undefined, { signal: options.signal });
  }
  let held = true;
  const timer = setInterval(() => {
    redis.eval(RENEW, 1, key, owner, ttlMs).then(
      (r) => {
        if (r === 0) held = false;
      },
      () => undefined,
    );
  }, ttlMs / 3);
  timer.unref();
  return {
    get held() {
      return held;
    },
    release: async () => {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, owner).catch(() => undefined);
    },
  };
}
