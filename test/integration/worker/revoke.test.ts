/** Revoke: before start a job never runs (nodes that start later honour it); terminate stops a running one. */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('revoke', () => {
  it('a job revoked before it starts never runs, even on a node that starts afterwards', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('t', () => ++runs);
    const doomed = await t.delay();
    const later = await t.applyAsync([], { countdown: 0.2 });
    const kept = await t.delay();
    expect(await doomed.revoke()).toBe('REVOKED-NOW');
    expect(await later.revoke()).toBe('REVOKED-NOW');
    const client = await app.client();
    // A revoked delayed job leaves `delayed` at once: nothing is left that could run it, however far its ETA.
    expect(await client.zcard(app.keys.queue('default', 'delayed'))).toBe(0);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), later.id)).toBe(0);
    await expect(doomed.get({ timeout: 100 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    await startWorker(app); // started after the revocation
    expect(await kept.get({ timeout: 5000 })).toBe(1);
    const reader = new EventReader(client, app.keys.events, '0');
    const discarded: string[] = [];
    await waitFor(
      'the queued revoked job to be discarded by the worker',
      async () => discarded.push(...(await reader.read()).filter((e) => e.type === 'task-revoked' && e.data.node).map((e) => e.data.id as string)),
      () => discarded.length === 1,
    );
    expect(discarded).toEqual([doomed.id]);
    expect(runs).toBe(1);
    expect(await doomed.info()).toMatchObject({ state: 'REVOKED', reason: 'revoked' });
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
    expect(await client.hlen(app.keys.queue('default', 'jobs'))).toBe(0);
  });

  it('terminate aborts a running job through ctx.signal and records REVOKED (terminated)', async () => {
    const app = testApp();
    const started: string[] = [];
    const wait = app.task('wait', async (ctx) => {
      started.push(ctx.id);
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
    }, { bind: true });
    await startWorker(app);
    const r = await wait.delay();
    await waitFor('the job to start', () => started.length, (n) => n === 1);
    expect(await r.revoke()).toBe('STARTED'); // without terminate a running job is left alone
    expect(await r.revoke({ terminate: true })).toBe('TERMINATING');
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(await r.info()).toMatchObject({ state: 'REVOKED', reason: 'terminated' });
    const events = await new EventReader(await app.client(), app.keys.events, '0').read();
    expect(events.find((e) => e.type === 'task-revoked')?.data).toMatchObject({ id: r.id, terminated: true });
  });

  it('revoking a finished job changes nothing', async () => {
    const app = testApp();
    const t = app.task('t', () => 'done');
    await startWorker(app);
    const r = await t.delay();
    await r.get({ timeout: 5000 });
    expect(await r.revoke({ terminate: true })).toBe('SUCCESS');
    expect(await r.get({ timeout: 100 })).toBe('done');
  });

  it('is honoured through the REVOKED record or the revoked set, whichever remains (ignoreResult jobs too)', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('t', () => ++runs);
    const quiet = app.task('quiet', () => ++runs, { ignoreResult: true });
    const a = await t.delay();
    const b = await quiet.delay();
    await a.revoke();
    await b.revoke();
    const client = await app.client();
    await client.zrem(app.keys.revoked, a.id); // as if trimmed: the REVOKED record still says so
    await startWorker(app);
    const ok = await t.delay();
    expect(await ok.get({ timeout: 5000 })).toBe(1);
    await waitFor('both to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
    expect(runs).toBe(1);
  });
});
