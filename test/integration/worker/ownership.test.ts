/**
 * Deliveries are owned, final states never go backwards. A worker process blocks its event loop past
 * the stall interval (it looks dead), its job is re-delivered and succeeds elsewhere, then the blocked
 * worker finishes late: its outcome must change nothing.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { gate } from '../../helpers/gate.js';
import { waitFor } from '../../helpers/wait-for.js';
import { listDead } from '../../../src/core/queue-admin.js';
import { EventReader } from '../../../src/events/event-reader.js';
import type { App } from '../../../src/core/app.js';

const STALL_MS = 300;

describe('a late finisher (a worker presumed dead finishes after all)', () => {
  for (const how of ['fail', 'retry'] as const) {
    it(`its late ${how === 'fail' ? 'FAILURE' : 'retry'} neither overwrites the SUCCESS of the re-delivered copy nor queues the job again`, async () => {
      const app = testApp({ stallIntervalMs: STALL_MS });
      let copies = 0;
      app.task('blockThen', () => {
        copies++;
        return 'ok';
      });
      const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: String(STALL_MS), TEST_BLOCK_MS: '2500' };
      const slow = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '1', '-n', 'slow@%h', '-l', 'info'], { env });
      const r = await app.send('blockThen', [how]);
      await waitFor('the slow node to start it', () => r.info(), (info) => info?.state === 'STARTED' && info.node?.startsWith('slow@') === true);

      await startWorker(app, { taskEvents: true, name: 'fast@test', concurrency: 1 });
      expect(await r.get({ timeout: 10_000 })).toBe('ok');
      await waitFor('the slow node to finish late and report it', () => slow.output(), (out) => out.includes('lost the job'));

      expect(await r.info()).toMatchObject({ state: 'SUCCESS', node: 'fast@test', result: 'ok' });
      expect(await listDead(app, ['default'])).toEqual([]);
      const client = await app.client();
      const k = app.keys;
      // Nothing left that could run it again.
      expect(await client.llen(k.queue('default', 'waiting'))).toBe(0);
      expect(await client.zcard(k.queue('default', 'delayed'))).toBe(0);
      expect(await client.hexists(k.queue('default', 'jobs'), r.id)).toBe(0);
      await waitFor('active to empty', () => client.llen(k.queue('default', 'active')), (n) => n === 0);
      expect(copies).toBe(1);
      slow.signal('SIGTERM');
      expect(await slow.exited).toBe(0);
    });
  }
});

describe('final states never go backwards', () => {
  for (const state of ['SUCCESS', 'FAILURE', 'REVOKED'] as const) {
    it(`a queued copy of a job that is ${state} already never runs and never turns it STARTED`, async () => {
      const app = testApp();
      let runs = 0;
      const t = app.task('t', () => ++runs);
      const r = await t.applyAsync([], {}, { jobId: `copy-${state}` });
      const client = await app.client();
      const over = JSON.stringify({ state, id: r.id, task: 't', doneAt: Date.now() });
      await client.set(app.keys.result(r.id), over);
      const probe = await t.delay(); // a job behind it: once it is done, the copy was taken too
      await startWorker(app, { taskEvents: true, concurrency: 1 });
      await probe.get({ timeout: 5000 });
      expect(runs).toBe(1);
      expect(await client.get(app.keys.result(r.id))).toBe(over);
      expect(await client.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(0);
      expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
      // A revoked job dropped when it comes up is announced as such (monitors count it revoked).
      const events = await new EventReader(client, app.keys.events, '0').read();
      const revoked = events.filter((e) => e.type === 'task-revoked' && e.data.id === r.id);
      expect(revoked).toHaveLength(state === 'REVOKED' ? 1 : 0);
    });
  }

  it('a running delivery whose job was meanwhile recorded SUCCESS keeps that SUCCESS when it fails', async () => {
    const app = testApp();
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      app.task('doomed', async () => {
        resolve();
        await new Promise<void>((r) => (release = r));
        throw new Error('failed after the job was over');
      }, { retries: 0 });
    });
    await startWorker(app, { taskEvents: true, concurrency: 1 });
    const r = await app.send('doomed', []);
    await started;
    const client = await app.client();
    const over = JSON.stringify({ state: 'SUCCESS', id: r.id, task: 'doomed', result: 1 });
    await client.set(app.keys.result(r.id), over);
    release();
    await waitFor('the outcome to be written', () => client.llen(app.keys.queue('default', 'active')), (n) => n === 0);
    expect(await client.get(app.keys.result(r.id))).toBe(over);
    expect(await listDead(app, ['default'])).toEqual([]);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(0);
  });

  it('progress after the hard time limit (async pool) leaves FAILURE alone, and progress keeps task and attempt', async () => {
    const app = testApp();
    let progressed!: (recorded: unknown) => void;
    const late = new Promise((resolve) => (progressed = resolve));
    let early!: () => void;
    const reported = new Promise<void>((resolve) => (early = resolve));
    app.task('overrun', async (ctx) => {
      await ctx.progress({ step: 1 });
      early();
      await new Promise((r) => setTimeout(r, 400)); // ignores its signal: runs past the 150 ms limit
      progressed(await ctx.progress({ step: 2 }).then(() => 'done', (err: unknown) => err));
    }, { bind: true, timeLimitMs: 150 });
    await startWorker(app, { taskEvents: true });
    const r = await app.send('overrun', []);
    await reported;
    const running = await r.info();
    expect(running).toMatchObject({ state: 'STARTED', task: 'overrun', attempt: 1, progress: { step: 1 } });
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    expect(await late).toBe('done');
    expect(await r.info()).toMatchObject({ state: 'FAILURE', reason: 'hard time limit exceeded' });
    // task-progress events name the task (a UI shows them without looking the job up); the late
    // update of a job already over is not announced either.
    const events = await new EventReader(await app.client(), app.keys.events, '0').read();
    const progress = events.filter((e) => e.type === 'task-progress').map((e) => e.data);
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatchObject({ id: r.id, task: 'overrun', progress: { step: 1 } });
  });
});

/** What stalls.lua does to a delivery presumed dead: its entry leaves `active`, the id goes back to the front of `waiting`. */
async function presumeDead(app: App, id: string): Promise<void> {
  const client = await app.client();
  const active = app.keys.queue('default', 'active');
  const entry = (await client.lrange(active, 0, -1)).find((e) => e.endsWith(`~${id}`))!;
  expect(entry).toBeDefined();
  await client.lrem(active, 0, entry);
  await client.rpush(app.keys.queue('default', 'waiting'), id);
}

describe('a delivery that lost its job while the re-delivered copy has not finished', () => {
  it('a late FAILURE while the copy waits is not recorded, not dead-lettered, and the copy runs', async () => {
    const app = testApp();
    const held = gate();
    let runs = 0;
    const flaky = app.task('flaky', async () => {
      runs++;
      if (runs === 1) {
        await held.passed;
        throw new Error('late failure of a delivery presumed dead');
      }
      return 'second run';
    }, { retries: 0 });
    await startWorker(app, { concurrency: 1, prefetch: 0 });
    const r = await flaky.delay();
    await waitFor('it to run', () => runs, (n) => n === 1);
    await presumeDead(app, r.id);
    held.open();
    expect(await r.get({ timeout: 5000 })).toBe('second run');
    expect(runs).toBe(2);
    expect(await listDead(app, ['default'])).toEqual([]);
  });

  it('progress from a delivery that lost its job leaves the new delivery’s STARTED record alone', async () => {
    const app = testApp();
    const gates: Array<() => void> = [];
    const reports: unknown[] = [];
    let runs = 0;
    app.task('long', async (ctx) => {
      const n = ++runs;
      await new Promise<void>((r) => gates.push(r));
      if (n === 1) {
        reports.push(await ctx.progress({ from: 'old delivery' }));
        await new Promise<void>((r) => gates.push(r));
      }
      return n;
    }, { bind: true });
    await startWorker(app, { concurrency: 1, prefetch: 0, name: 'a@test' });
    const r = await app.send('long', []);
    await waitFor('it to run on a', () => runs, (n) => n === 1);
    await presumeDead(app, r.id);
    await startWorker(app, { concurrency: 1, prefetch: 0, name: 'b@test' });
    await waitFor('the copy to run on b', () => runs, (n) => n === 2);
    const before = await r.info();
    expect(before).toMatchObject({ state: 'STARTED', node: 'b@test' });
    gates[0]!(); // the old delivery reports progress, then ends
    await waitFor('the old delivery to report', () => reports.length, (n) => n === 1);
    const after = await r.info();
    expect(after).toMatchObject({ state: 'STARTED', node: 'b@test' });
    expect(after).not.toHaveProperty('progress');
    gates[1]!();
    expect(await r.get({ timeout: 5000 })).toBe(2);
    gates[2]!();
  });
});

describe('a late success of a delivery that lost its job', () => {
  for (const end of ['FAILURE', 'REVOKED'] as const) {
    it(`leaves the ${end} its re-delivered copy ended in`, async () => {
      const app = testApp();
      const held = gate();
      let runs = 0;
      const t = app.task('endsTwice', async () => {
        runs++;
        if (runs === 1) {
          await held.passed;
          return 'late success';
        }
        throw new Error('the copy failed');
      }, { retries: 0 });
      const a = await startWorker(app, { concurrency: 1, prefetch: 0, name: 'a@test' });
      const r = await t.delay();
      await waitFor('it to run on a', () => runs, (n) => n === 1);
      await presumeDead(app, r.id);
      if (end === 'REVOKED') expect(await app.revoke(r.id)).toBe('STARTED');
      await startWorker(app, { concurrency: 1, prefetch: 0, name: 'b@test' });
      await waitFor(`the copy to end ${end}`, () => r.info(), (info) => info?.state === end);
      const over = await (await app.client()).get(app.keys.result(r.id));
      held.open();
      await waitFor('a to report its late outcome as lost', () => a.stats.lost, (n) => n === 1);
      expect(await (await app.client()).get(app.keys.result(r.id))).toBe(over);
      expect(runs).toBe(end === 'FAILURE' ? 2 : 1);
    });
  }
});
