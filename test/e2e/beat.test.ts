/**
 * `taskq beat` with real processes on the test Redis: several beats fire each slot exactly once, a
 * standby takes over within the lease when the leader is killed with SIGKILL, a restart does not fire
 * again what was fired, and a bad schedule stops beat at start naming the entry.
 */
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { uniquePrefix } from '../helpers/apps.js';
import { fixture, runTaskq, spawnTaskq, type WorkerProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { privateRedis } from '../helpers/redis-server.js';

const beatApp = fixture('beat.mjs');

interface Fired {
  entry: string;
  slot: number;
  beat: string;
  at: number;
}

function setup(): { env: NodeJS.ProcessEnv; prefix: string; app: ReturnType<typeof createApp> } {
  const prefix = uniquePrefix();
  const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
  onTestFinished(() => app.close());
  return { env: { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix }, prefix, app };
}

/** Every beat-fired event so far: slot, which beat, when (the stream entry's time). */
async function fired(app: ReturnType<typeof createApp>): Promise<Fired[]> {
  const client = await app.client();
  const entries = (await client.xrange(app.keys.events, '-', '+')) as Array<[string, string[]]>;
  return entries
    .filter(([, f]) => f[1] === 'beat-fired')
    .map(([id, f]) => {
      const d = JSON.parse(f[3] as string) as { entry: string; slot: number; beat: string };
      return { entry: d.entry, slot: d.slot, beat: d.beat, at: Number(id.split('-')[0]) };
    });
}

const beats = (env: NodeJS.ProcessEnv, names: string[], extra: string[] = []): Promise<WorkerProcess[]> =>
  Promise.all(names.map((n) => spawnTaskq(['beat', '-A', beatApp, '-n', `${n}@box`, ...extra], { env })));

describe('taskq beat', () => {
  it('three beats, a 1 s entry: one slot a second, each sent exactly once, by one leader', async () => {
    const { env, app } = setup();
    await beats(env, ['b1', 'b2', 'b3']);
    const list = await waitFor('10 fires', () => fired(app), (f) => f.length >= 10, { timeoutMs: 20_000 });
    const slots = list.map((f) => f.slot);
    expect(new Set(slots).size).toBe(slots.length); // no slot twice
    // Consecutive seconds: nothing skipped, nothing doubled.
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
    expect(new Set(list.map((f) => f.beat)).size).toBe(1);
    // As many jobs as fires, each named after its slot.
    const client = await app.client();
    const ids = await client.hkeys(app.keys.queue('beat', 'jobs'));
    expect(ids.length).toBeGreaterThanOrEqual(10);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^beat:tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(id))).toBe(true);
  });

  it('kill -9 the leader: another leads within the lease, and no slot is sent twice or skipped', async () => {
    const { env, app } = setup();
    const procs = await beats(env, ['k1', 'k2', 'k3'], ['--lease', '2']);
    const before = await waitFor('3 fires', () => fired(app), (f) => f.length >= 3, { timeoutMs: 20_000 });
    const leader = before.at(-1)!.beat;
    const victim = procs[['k1@box', 'k2@box', 'k3@box'].indexOf(leader)]!;
    victim.signal('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    const after = await waitFor('a new leader to fire 3 times', () => fired(app), (f) => f.filter((x) => x.beat !== leader).length >= 3, { timeoutMs: 20_000 });
    const slots = after.map((f) => f.slot);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
    const firstOfNew = after.find((f) => f.beat !== leader)!;
    const lastOfOld = [...after].reverse().find((f) => f.beat === leader)!;
    // The gap in sending is at most the lease (2 s), plus the time the fire itself takes.
    expect(firstOfNew.at - lastOfOld.at).toBeLessThanOrEqual(2000 + 250);
    expect(firstOfNew.at - killedAt).toBeLessThanOrEqual(2000 + 250);
  });

  it('restarting every beat does not send again what was sent; the slots of the pause are sent late', async () => {
    const { env, app } = setup();
    const [first] = await beats(env, ['r1']);
    await waitFor('2 fires', () => fired(app), (f) => f.length >= 2, { timeoutMs: 20_000 });
    first!.signal('SIGTERM');
    expect(await first!.exited).toBe(0);
    const stoppedWith = (await fired(app)).length;
    await beats(env, ['r2']);
    const list = await waitFor('2 more fires', () => fired(app), (f) => f.length >= stoppedWith + 2, { timeoutMs: 20_000 });
    const slots = list.map((f) => f.slot);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
  });

  it('entries added, disabled and removed at run time are picked up live; app entries cannot be overwritten', async () => {
    const { env, app } = setup();
    await beats(env, ['d1']);
    await waitFor('tick to fire', () => fired(app), (f) => f.some((x) => x.entry === 'tick'), { timeoutMs: 20_000 });
    const add = await runTaskq(['beat', 'add', 'extra', '-A', beatApp, '--task', 'tick', '--every', '2s', '--args', '["x"]'], env);
    expect(add.code, add.stderr).toBe(0);
    await waitFor('the added entry to fire', () => fired(app), (f) => f.some((x) => x.entry === 'extra'), { timeoutMs: 5000 });
    expect((await runTaskq(['beat', 'disable', 'tick', '-A', beatApp], env)).code).toBe(0);
    const offAt = (await fired(app)).filter((x) => x.entry === 'tick').length;
    await waitFor('extra to fire twice more', () => fired(app), (f) => f.filter((x) => x.entry === 'extra').length >= 3, { timeoutMs: 10_000 });
    // At most one tick slot was already under way when the change landed.
    expect((await fired(app)).filter((x) => x.entry === 'tick').length).toBeLessThanOrEqual(offAt + 1);

    const clash = await runTaskq(['beat', 'add', 'tick', '-A', beatApp, '--task', 'tick', '--every', '5s'], env);
    expect(clash.code).toBe(78);
    expect(clash.stderr).toContain('beat entry "tick" is defined by the app');
    const ls = JSON.parse((await runTaskq(['beat', 'ls', '-A', beatApp, '--json'], env)).stdout) as Array<{ name: string; source: string; enabled: boolean; total: number }>;
    expect(ls.map((e) => [e.name, e.source, e.enabled])).toEqual([['extra', 'runtime', true], ['tick', 'app', false]]);
    expect(ls.find((e) => e.name === 'extra')!.total).toBeGreaterThanOrEqual(3);

    expect((await runTaskq(['beat', 'rm', 'extra', '-A', beatApp], env)).code).toBe(0);
    const removedAt = (await fired(app)).filter((x) => x.entry === 'extra').length;
    const runNow = await runTaskq(['beat', 'run-now', 'tick', '-A', beatApp], env);
    expect(runNow.stdout).toMatch(/^sent beat:tick@run-now-/);
    // Three more seconds of tick (enabled again) show the schedule moved on without extra.
    const ticksBefore = (await fired(app)).filter((x) => x.entry === 'tick').length;
    const [seconds] = await (await app.client()).time();
    expect((await runTaskq(['beat', 'enable', 'tick', '-A', beatApp], env)).code).toBe(0);
    await waitFor('tick to fire 3 more times', () => fired(app), (f) => f.filter((x) => x.entry === 'tick').length >= offAt + 4, { timeoutMs: 10_000 });
    // The slots that passed while it was off are skipped, not sent in a burst when it is on again.
    const again = (await fired(app)).filter((x) => x.entry === 'tick').slice(ticksBefore);
    for (const f of again) expect(f.slot).toBeGreaterThan(Number(seconds) * 1000);
    const lsOff = await runTaskq(['beat', 'disable', 'tick', '-A', beatApp], env);
    expect(lsOff.code).toBe(0);
    expect((await runTaskq(['beat', 'ls', '-A', beatApp], env)).stdout).toMatch(/tick .* no +\S+ +- /);
    expect((await fired(app)).filter((x) => x.entry === 'extra').length).toBeLessThanOrEqual(removedAt + 1);
  });

  it('Redis away: beat waits, says so, and after Redis is back sends the missed slots once, none twice', async () => {
    const redis = await privateRedis();
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: prefix };
    const app = createApp({ broker: redis.url, keyPrefix: prefix });
    onTestFinished(() => app.close());
    const [beat] = await beats(env, ['o1']);
    await waitFor('2 fires', () => fired(app), (f) => f.length >= 2, { timeoutMs: 20_000 });
    await redis.stop();
    await waitFor('beat to say Redis is away', () => beat!.output(), (o) => o.includes('Redis does not answer'), { timeoutMs: 10_000 });
    await redis.start();
    await waitFor('beat to say Redis is back', () => beat!.output(), (o) => o.includes('Redis answers again'), { timeoutMs: 20_000 });
    const list = await waitFor('3 fires after the outage', () => fired(app), (f) => f.length >= 5, { timeoutMs: 20_000 });
    const slots = list.map((f) => f.slot);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBe(1000);
  });

  it('-B on two workers: one embedded beat leads, each slot is sent once and run', async () => {
    const { env, app } = setup();
    await Promise.all(['w1', 'w2'].map((n) => spawnTaskq(['worker', '-A', beatApp, '-B', '-Q', 'beat', '-n', `${n}@box`], { env })));
    const list = await waitFor('4 fires', () => fired(app), (f) => f.length >= 4, { timeoutMs: 20_000 });
    const slots = list.map((f) => f.slot);
    expect(new Set(slots).size).toBe(slots.length);
    expect(new Set(list.map((f) => f.beat)).size).toBe(1);
    expect(list[0]!.beat).toMatch(/^beat:w[12]@box$/);
    const first = app.result(`beat:tick@${new Date(slots[0]!).toISOString()}`);
    expect(await first.get({ timeout: 5000 })).toBe('tick');
  });

  it('a bad schedule stops beat at start, naming the entry and the value (exit 78)', async () => {
    const { env } = setup();
    const cases: Array<[string, RegExp]> = [
      ['cron', /beat entry "tick": cron "0 61 \* \* \*": hour "61"/],
      ['task', /beat entry "tick": task "tock" is not registered in the app/],
      ['timezone', /beat entry "tick": unknown timezone "Nowhere\/Special"/],
    ];
    for (const [what, message] of cases) {
      const r = await runTaskq(['beat', '-A', beatApp], { ...env, TEST_BEAT_BAD: what });
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toMatch(message);
    }
  });
});
