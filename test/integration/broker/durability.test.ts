/**
 * Durability as the README states it: Redis itself killed with SIGKILL while producers send, then
 * restarted on its data. With AOF `everysec` every job acknowledged more than a second before the
 * crash is there; with `always`, every acknowledged job is.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../../../src/core/app.js';
import { privateRedis } from '../../helpers/redis-server.js';

const IN_FLIGHT = 50;
// Bounds: the crash comes first (after about 1.5 s of acknowledged sends, some 200k jobs here); the
// test asserts it did, so a faster machine cannot turn this into a crash after the run.
const MAX_JOBS = 2_000_000;
const MAX_MS = 20_000;

async function crashWhileSending(appendfsync: 'everysec' | 'always'): Promise<{ acked: number; inFlight: number; lostBefore: (ms: number) => number }> {
  const redis = await privateRedis({ appendfsync });
  const app = createApp({ broker: redis.url, keyPrefix: 'dur' });
  onTestFinished(() => app.close());
  const client = await app.client();
  // The setting under test is the one Redis runs with.
  expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', appendfsync]);
  const deadline = Date.now() + MAX_MS;
  const acked: Array<{ id: string; at: number }> = [];
  let killAt = Infinity;
  let sent = 0;
  const sender = async (): Promise<void> => {
    while (sent < MAX_JOBS && Date.now() < Math.min(killAt, deadline)) {
      sent++;
      const r = await app.send('t', [sent]);
      acked.push({ id: r.id, at: Date.now() });
    }
  };
  const senders = Array.from({ length: IN_FLIGHT }, () => sender());
  // Let a good second of acknowledged sends pile up, then crash Redis mid-stream.
  while ((acked.length < 200 || Date.now() - acked[0]!.at < 1500) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  killAt = Date.now();
  // Sends still on their way when Redis dies: the crash is mid-run, not after it.
  const inFlight = sent - acked.length;
  await redis.kill();
  await redis.start(); // on the same data; sends waiting meanwhile go through now
  await Promise.all(senders);
  const present = new Set<string>();
  const ids = acked.map((a) => a.id);
  for (let i = 0; i < ids.length; i += 1000) {
    const flags = await client.hmget('dur:default:jobs', ...ids.slice(i, i + 1000));
    flags.forEach((f, j) => f !== null && present.add(ids[i + j]!));
  }
  return {
    acked: acked.filter((a) => a.at < killAt).length,
    inFlight,
    lostBefore: (ms) => acked.filter((a) => a.at < killAt - ms && !present.has(a.id)).length,
  };
}

describe('Redis killed with SIGKILL mid-run, restarted on its data', () => {
  it('appendfsync everysec: every job acknowledged more than a second before the crash is there', async () => {
    const { acked, inFlight, lostBefore } = await crashWhileSending('everysec');
    console.info(`AOF everysec: ${acked} jobs acknowledged before the crash, ${inFlight} in flight at it, ${lostBefore(0)} lost, ${lostBefore(1000)} acknowledged more than 1 s before it`);
    expect(acked).toBeGreaterThan(200);
    expect(inFlight).toBeGreaterThan(0);
    expect(lostBefore(1000)).toBe(0);
  });

  it('appendfsync always: every acknowledged job is there', async () => {
    const { acked, inFlight, lostBefore } = await crashWhileSending('always');
    console.info(`AOF always: ${acked} jobs acknowledged before the crash, ${inFlight} in flight at it, ${lostBefore(0)} lost`);
    expect(acked).toBeGreaterThan(200);
    expect(inFlight).toBeGreaterThan(0);
    expect(lostBefore(0)).toBe(0);
  });
});
