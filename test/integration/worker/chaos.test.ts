/**
 * Chaos: 100 rounds of kill -9 of a random worker node holding jobs while two more run, a fresh node
 * replacing it each time. Nothing is lost, no final state is overwritten (one task-succeeded per job,
 * and it is the one the result holds), duplicates are counted, and re-delivery after a kill stays
 * within about two stall intervals (p99 measured).
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq, type WorkerProcess } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';
import { listDead } from '../../../src/core/queue-admin.js';
import { EventReader } from '../../../src/events/event-reader.js';
import type { AsyncResult } from '../../../src/core/async-result.js';

const ROUNDS = 100;
const STALL_MS = 300;
const JOBS_PER_ROUND = 12;
const JOB_MS = 40;

describe('chaos', () => {
  it(`${ROUNDS} rounds of kill -9 of a random node with jobs in flight: 0 lost, 0 overwritten, re-delivery p99 within about two stall intervals`, async () => {
    // A job may be held by a victim several times in a row here (a kill every few hundred ms): no
    // stall limit, so every job must end SUCCESS rather than in the dead letters.
    const app = testApp({ stallIntervalMs: STALL_MS, maxStalls: 1000 });
    const client = await app.client();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: String(STALL_MS), TASKQ_MAX_STALLS: '1000' };
    let serial = 0;
    const spawnNode = (): Promise<WorkerProcess & { name: string }> => {
      const name = `n${++serial}`;
      return spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '2', '-n', `${name}@chaos`, '-l', 'warn', '-E'], { env }).then((p) => Object.assign(p, { name: `${name}@chaos` }));
    };
    const nodes = await Promise.all([spawnNode(), spawnNode(), spawnNode()]);
    const sent: AsyncResult[] = [];
    const kills: Array<{ node: string; at: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      sent.push(...(await Promise.all(Array.from({ length: JOBS_PER_ROUND }, () => app.send('chaos', [JOB_MS])))));
      // Kill a node while it holds jobs.
      const victimAt = Math.floor(Math.random() * nodes.length);
      const victim = nodes[victimAt]!;
      await waitFor(`${victim.name} to hold a job`, async () => (await client.lrange(`${app.keys.prefix}:starts`, -20, -1)).some((s) => s.includes(`"node":"${victim.name}"`)), (held) => held);
      victim.signal('SIGKILL');
      kills.push({ node: victim.name, at: Date.now() });
      await victim.exited;
      nodes[victimAt] = await spawnNode();
    }
    const states = await Promise.all(sent.map((r) => r.get({ timeout: 60_000 }).then(() => r.state(), (e: Error) => e.message)));
    expect(states.filter((s) => s !== 'SUCCESS')).toEqual([]);
    expect(await listDead(app, ['default'])).toEqual([]);

    // One task-succeeded per job, from the node its result names: no outcome was written twice or over another.
    const events = [];
    const reader = new EventReader(client, app.keys.events, '0');
    for (let batch = await reader.read({ count: 5000 }); batch.length; batch = await reader.read({ count: 5000 })) events.push(...batch);
    const succeeded = new Map<string, string[]>();
    for (const e of events) if (e.type === 'task-succeeded') succeeded.set(e.data.id as string, [...(succeeded.get(e.data.id as string) ?? []), e.data.node as string]);
    const overwritten: string[] = [];
    for (const r of sent) {
      const nodesOk = succeeded.get(r.id) ?? [];
      if (nodesOk.length !== 1 || (await r.info())?.node !== nodesOk[0]) overwritten.push(r.id);
    }
    expect(overwritten).toEqual([]);

    // Re-delivery: from the kill of the node that started a job to the job's next start elsewhere.
    const starts = (await client.lrange(`${app.keys.prefix}:starts`, 0, -1)).map((s) => JSON.parse(s) as { id: string; node: string; at: number });
    const byJob = new Map<string, typeof starts>();
    for (const s of starts) byJob.set(s.id, [...(byJob.get(s.id) ?? []), s]);
    const delays: number[] = [];
    let duplicates = 0;
    for (const runs of byJob.values()) {
      if (runs.length < 2) continue;
      duplicates++;
      for (let i = 1; i < runs.length; i++) {
        const kill = kills.find((k) => k.node === runs[i - 1]!.node);
        if (kill) delays.push(runs[i]!.at - kill.at);
      }
    }
    delays.sort((a, b) => a - b);
    const p = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? 0;
    console.info(
      `chaos: ${ROUNDS} kills, ${sent.length} jobs, 0 lost, 0 overwritten, ${duplicates} run more than once; ` +
        `re-delivery after a kill: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${delays.at(-1) ?? 0} ms (stall interval ${STALL_MS} ms)`,
    );
    expect(delays.length).toBeGreaterThan(0);
    // About two intervals (632-690 ms measured alone, up to 823 ms with the whole suite running on
    // 2 cores): the bound leaves room for a loaded machine's timers, not for a third missed check.
    expect(p(0.99)).toBeLessThanOrEqual(3 * STALL_MS + 300);
    await Promise.all(nodes.map(async (n) => {
      n.signal('SIGTERM');
      expect(await n.exited).toBe(0);
    }));
  }, 240_000);
});
