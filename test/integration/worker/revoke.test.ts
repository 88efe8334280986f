/** Revoke: before start a job never runs (nodes that start later honour it); terminate stops a running one. */
import { describe, expect, inject, it } from 'vitest';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { startWorker, testApp } from '../../helpers/apps.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';
import { gate } from '../../helpers/gate.js';

describe('revoke', () => {
  it('a job revoked before it starts never runs, even on a node that starts afterwards', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('t', () => ++runs);
    const doomed = await t.delay();
    const later = await t.applyAsync([], {}, { countdown: 0.2 });
    const kept = await t.delay();
    expect(await doomed.revoke()).toBe('REVOKED-NOW');
    expect(await later.revoke()).toBe('REVOKED-NOW');
    const client = await app.client();
    // A revoked delayed job leaves `delayed` at once: nothing is left that could run it, however far its ETA.
    expect(await client.zcard(app.keys.queue('default', 'delayed'))).toBe(0);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), later.id)).toBe(0);
    await expect(doomed.get({ timeout: 100 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    await startWorker(app, { taskEvents: true }); // started after the revocation
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

  it('an id revoked before anything was sent with it never runs when it is sent: at once, later, with results off or a rate limit (as Celery)', async () => {
    const app = testApp();
    const ran: string[] = [];
    const t = app.task('t', (label: string) => void ran.push(label));
    const limited = app.task('limited', (label: string) => void ran.push(label), { rateLimit: '1000/s' });
    const cases = [
      { id: 'pre-now', send: () => t.applyAsync(['now'], {}, { jobId: 'pre-now' }), results: true },
      { id: 'pre-later', send: () => t.applyAsync(['later'], {}, { jobId: 'pre-later', countdown: 0.05 }), results: true },
      { id: 'pre-off', send: () => t.applyAsync(['off'], {}, { jobId: 'pre-off', ignoreResult: true }), results: false },
      { id: 'pre-rate', send: () => limited.applyAsync(['rate'], {}, { jobId: 'pre-rate' }), results: true },
    ];
    for (const c of cases) expect(await app.revoke(c.id)).toBe('REVOKED-NOW');
    const sent = [];
    for (const c of cases) sent.push(await c.send());
    const probe = await t.applyAsync(['probe'], {}, { countdown: 0.1 }); // due after the others
    await startWorker(app, { concurrency: 1 });
    await probe.get({ timeout: 5000 });
    const client = await app.client();
    await waitFor('every revoked job to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
    expect(ran).toEqual(['probe']);
    for (const [i, c] of cases.entries()) if (c.results) expect(await sent[i]!.info()).toMatchObject({ state: 'REVOKED', reason: 'revoked' });
  });

  it('terminate aborts a running job through ctx.signal and records REVOKED (terminated)', async () => {
    const app = testApp();
    const started: string[] = [];
    const wait = app.task('wait', async (ctx) => {
      started.push(ctx.id);
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
    }, { bind: true });
    await startWorker(app, { taskEvents: true });
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
    await startWorker(app, { taskEvents: true });
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
    await startWorker(app, { taskEvents: true });
    const ok = await t.delay();
    expect(await ok.get({ timeout: 5000 })).toBe(1);
    await waitFor('both to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
    expect(runs).toBe(1);
  });

  it('outlasts the REVOKED record and the revoked set: a queued job stays revoked however long it waits', async () => {
    const app = testApp();
    let runs = 0;
    const t = app.task('t', () => ++runs);
    const r = await t.delay();
    expect(await r.revoke()).toBe('REVOKED-NOW');
    const client = await app.client();
    // As if both had expired (3 h, 50,000 ids, the result TTL) before the job came up.
    await client.del(app.keys.result(r.id));
    await client.zrem(app.keys.revoked, r.id);
    await startWorker(app, { taskEvents: true });
    const ok = await t.delay();
    expect(await ok.get({ timeout: 5000 })).toBe(1);
    await waitFor('it to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
    expect(runs).toBe(1);
    expect(await r.info()).toMatchObject({ state: 'REVOKED', reason: 'revoked' });
  });

  const heldCases = [
    { ignoreResult: false, trimmed: false },
    { ignoreResult: true, trimmed: false },
    { ignoreResult: true, trimmed: true },
  ];
  for (const { ignoreResult, trimmed } of heldCases) it(`a held (prefetched) job${ignoreResult ? ' with results off' : ''} is checked when it really starts if its node may have missed the revoke (its subscription dropped)${trimmed ? ', even once the revoked set has dropped its id' : ''}`, async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    const ran: string[] = [];
    const t = app.task('t', async (name: string) => {
      ran.push(name);
      if (name === 'first') await gateOpen;
      return name;
    });
    const node = await startWorker(app, { taskEvents: true, name: 'held@test', concurrency: 1, prefetch: 1 });
    const first = await t.delay('first');
    const held = await t.applyAsync(['held'], {}, { ignoreResult });
    await waitFor('one running, one held', () => node.busy, (n) => n === 2);
    // The node's control subscription drops, and the revoke is issued while it is away: its message
    // is lost (a revoke to a node that is reconnecting); only Redis knows.
    const client = await app.client();
    const control = async (): Promise<string | undefined> =>
      ((await client.client('LIST')) as string).split('\n').find((l) => l.includes('name=taskq:subscriber:held@test:control'))?.match(/id=(\d+)/)?.[1];
    const before = await control();
    await client.client('KILL', 'ID', before!);
    expect(await held.revoke()).toBe('REVOKED-NOW');
    if (trimmed) expect(await client.zrem(app.keys.revoked, held.id)).toBe(1);
    await waitFor('the subscription to come back', control, (id) => id !== undefined && id !== before);
    release();
    expect(await first.get({ timeout: 5000 })).toBe('first');
    await waitFor('the held job to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
    expect(ran).toEqual(['first']);
    if (!ignoreResult) expect(await held.state()).toBe('REVOKED');
    expect(await client.llen(app.keys.queue('default', 'active'))).toBe(0);
  });

  it('a held job whose expiry passed while it waited for a slot is REVOKED (expired), not run', async () => {
    const app = testApp();
    const { passed: gateOpen, open: release } = gate();
    const ran: string[] = [];
    const t = app.task('t', async (name: string) => {
      ran.push(name);
      if (name === 'first') await gateOpen;
      return name;
    });
    const node = await startWorker(app, { taskEvents: true, concurrency: 1, prefetch: 1 });
    await t.delay('first');
    const expiresAt = Date.now() + 300;
    const perishable = await t.applyAsync(['perishable'], {}, { expires: new Date(expiresAt) });
    await waitFor('one running, one held', () => node.busy, (n) => n === 2);
    await waitFor('its expiry to pass', () => Date.now(), (now) => now > expiresAt + 5);
    release();
    await expect(perishable.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(await perishable.info()).toMatchObject({ state: 'REVOKED', reason: 'expired' });
    expect(ran).toEqual(['first']);
  });
});

/**
 * A job of `count` (which counts its runs in `<prefix>:runs`) running for a minute on a worker
 * process (the victim, to be killed); in this process `count` counts the runs of copies the same way.
 */
async function runningOnVictim(ignoreResult: boolean) {
  const app = testApp({ stallIntervalMs: 300 });
  const client = await app.client();
  const runs = `${app.keys.prefix}:runs`;
  app.task('count', async (ctx) => {
    await client.hincrby(runs, ctx.id, 1);
    return ctx.id;
  }, { bind: true });
  const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: '300' };
  const victim = await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '1'], { env });
  const r = await app.send('count', [60_000], null, { ignoreResult });
  await waitFor('it to run', () => client.hget(runs, r.id), (n) => n === '1');
  return { app, client, runs, victim, r };
}

describe('revoking a running job, then losing its node', () => {
  for (const trimmed of [false, true]) it(`the re-delivered copy never runs: the job ends REVOKED${trimmed ? ', even once the revoked set has dropped its id' : ''}`, async () => {
    const { app, client, runs, victim, r } = await runningOnVictim(false);
    expect(await r.revoke()).toBe('STARTED'); // not terminated: it would finish, as in Celery
    victim.signal('SIGKILL');
    await victim.exited;
    // The set is bounded by count and age: the revocation must outlast it, as long as the job lives.
    if (trimmed) expect(await client.zrem(app.keys.revoked, r.id)).toBe(1);
    await startWorker(app, { taskEvents: true, concurrency: 1 });
    await expect(r.get({ timeout: 10_000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(await client.hget(runs, r.id)).toBe('1');
    await waitFor('active to empty', () => client.llen(app.keys.queue('default', 'active')), (n) => n === 0);
    expect(await client.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(0);
  });

  // Each of the two flags a revocation leaves on a running job is the only one in one case.
  it('an ignoreResult job (no STARTED record to flag): its job record carries the revocation past the revoked set', async () => {
    const { app, client, runs, victim, r } = await runningOnVictim(true);
    expect(await r.revoke()).toBe('REVOKED-NOW'); // no record says it runs: it is treated as queued
    victim.signal('SIGKILL');
    await victim.exited;
    expect(await client.zrem(app.keys.revoked, r.id)).toBe(1);
    const probe = await app.send('count', [], null, { jobId: 'probe' });
    await startWorker(app, { concurrency: 1, prefetch: 0 });
    await waitFor('the job behind it to run', () => client.hget(runs, probe.id), (n) => n === '1');
    await waitFor('active to empty', () => client.llen(app.keys.queue('default', 'active')), (n) => n === 0);
    expect(await client.hget(runs, r.id)).toBe('1');
    expect(await client.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(0);
  });

  it('a running job asking for a retry after its revocation: its STARTED record stops the retry past the revoked set', async () => {
    const app = testApp();
    const held = gate();
    let runs = 0;
    const t = app.task('retrier', async (ctx) => {
      runs++;
      await held.passed;
      throw ctx.retry({ countdown: 0 });
    }, { bind: true, retries: 5 });
    await startWorker(app, { concurrency: 1, prefetch: 0 });
    const r = await t.delay();
    await waitFor('it to run', () => runs, (n) => n === 1);
    expect(await r.revoke()).toBe('STARTED');
    const client = await app.client();
    expect(await client.zrem(app.keys.revoked, r.id)).toBe(1);
    held.open();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_REVOKED' });
    expect(runs).toBe(1);
  });
});
