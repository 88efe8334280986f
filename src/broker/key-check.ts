/**
 * Names the keys that make Redis answer WRONGTYPE: a key of a queue that holds another type than
 * taskq's layout (broker/keys.ts) says — written by hand or by another program under the same prefix.
 */
import type { Redis } from './redis-factory.js';

export type RedisType = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream';

/** "<key> is a <type>, not a <expected>" for each key that exists with the wrong type. */
export async function wrongTypedKeys(client: Redis, expected: ReadonlyArray<readonly [key: string, type: RedisType]>): Promise<string[]> {
  const pipeline = client.pipeline();
  for (const [key] of expected) pipeline.type(key);
  const replies = (await pipeline.exec()) ?? [];
  const wrong: string[] = [];
  expected.forEach(([key, type], i) => {
    const actual = replies[i]?.[1];
    if (typeof actual === 'string' && actual !== 'none' && actual !== type) wrong.push(`${key} is a ${actual}, not a ${type}`);
  });
  return wrong;
}
