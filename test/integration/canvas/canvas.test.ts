/** Canvas against a real Redis and a worker node in this process: chain, group, chord, links. */
import { describe, expect, it } from 'vitest';
import { chain, chord, group } from '../../../src/core/canvas/canvas.js';
import { GroupResult } from '../../../src/core/group-result.js';
import { startWorker, strandAndSweep, testApp } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';
import { gate } from '../../helpers/gate.js';

function mathApp() {
  const app = testApp();
  const add = app.task('add', (a: number, b: number) => a + b);
  const mul = app.task('mul', (a: number, b: number) => a * b);
  const sum = app.task('sum', (values: number[]) => values.reduce((s, v) => s + v, 0));
  const fail = app.task('fail', (why: string) => {
    throw new TypeError(`failed: ${why}`);
  });
  return { app, add, mul, sum, fail };
}

describe('chain', () => {
  it('chain(add.s(2, 2), mul.s(4), mul.s(3)) gives 48; each step knows its parent', async () => {
    const { app, add, mul } = mathApp();
    await startWorker(app);
    const r = await chain(add.s(2, 2), mul.s(4), mul.s(3)).delay();
    expect(await r.get({ timeout: 5000 })).toBe(48);
    expect(await r.parent?.get({ timeout: 100 })).toBe(16);
    const first = (r.parent as { parent?: { id: string } }).parent;
    expect(await app.result(first!.id).get({ timeout: 100 })).toBe(4);
    expect((await app.result(first!.id).children()).map((c) => c.id)).toEqual([(r.parent as { id: string }).id]);
  });

  for (const kind of ['plain', 'results off', 'rate-limited'] as const) {
    it(`a step revoked before the chain reached it (${kind}) never runs`, async () => {
      const app = testApp();
      const held = gate();
      const ran: string[] = [];
      const first = app.task('first', async () => {
        await held.passed;
        ran.push('first');
        return 1;
      });
      const next = app.task('next', () => void ran.push('next'), kind === 'rate-limited' ? { rateLimit: '1000/s' } : {});
      await startWorker(app, { concurrency: 1 });
      const step = kind === 'results off' ? next.s().set({ ignoreResult: true }) : next.s();
      const r = await chain(first.s(), step).delay();
      const before = app.result((r.parent as { id: string }).id);
      await waitFor('the first step to run', () => before.state(), (s) => s === 'STARTED');
      expect(await app.revoke(r.id)).toBe('REVOKED-NOW'); // not sent yet
      held.open();
      expect(await before.get({ timeout: 5000 })).toBe(1);
      const client = await app.client();
      await waitFor('the revoked step to be released', () => client.hlen(app.keys.queue('default', 'jobs')), (n) => n === 0);
      await waitFor('nothing left running', () => client.llen(app.keys.queue('default', 'active')), (n) => n === 0);
      expect(ran).toEqual(['first']);
    });
  }

  it('si() ignores the previous value; pipe() chains too; args go to the first step', async () => {
    const { app, add, mul } = mathApp();
    await startWorker(app);
    const r = await add.s(1).pipe(mul.si(5, 5), add.s(1)).delay(10);
    expect(await r.get({ timeout: 5000 })).toBe(26);
    // A long chain's handle follows every step before it (no listener warnings).
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const long = await chain(Array.from({ length: 30 }, (_, i) => (i === 0 ? add.s(0, 1) : add.s(1)))).delay();
    expect(await long.get({ timeout: 10_000 })).toBe(30);
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
  });

  it("a failing step fails the chain's handle with its error, and later steps never run", async () => {
    const { app, add, fail } = mathApp();
    const node = await startWorker(app);
    const r = await chain(add.s(1, 1), fail.si('step 2'), add.s(1)).delay();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_FAILED', message: expect.stringContaining('failed: step 2') });
    await waitForCount(() => node.stats.processed, 2);
    // The next step would have been stored with the failure, atomically: it is not (the failed one is, as a dead letter).
    const client = await app.client();
    expect(await client.hkeys(app.keys.queue('default', 'jobs'))).toEqual([(r.parent as { id: string }).id]);
    expect(await r.state()).toBe('PENDING');
    expect(node.stats.processed).toBe(2);
  });
});

describe('group', () => {
  it('group of 100 gives its values in order; completedCount counts them', async () => {
    const { app, add } = mathApp();
    await startWorker(app, { concurrency: 8 });
    const g = await group(Array.from({ length: 100 }, (_, i) => add.s(i, i))).delay();
    expect(g).toBeInstanceOf(GroupResult);
    expect(await g.get({ timeout: 10_000 })).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
    expect(await g.completedCount()).toBe(100);
    expect(await g.ready()).toBe(true);
  });

  it("get() rejects with the first failure and stops waiting for the others (their subscriptions end)", async () => {
    const { app, fail } = mathApp();
    const elsewhere = app.task('elsewhere', () => 1, { queue: 'nobody' });
    const g = await group(fail.s('first'), elsewhere.s()).delay();
    const waiting = g.get();
    const client = await app.client();
    const channel = app.keys.resultChannel((g.results[1] as { id: string }).id);
    const subscribers = async (): Promise<number> => Number(((await client.pubsub('NUMSUB', channel)) as unknown[])[1]);
    await waitFor('the wait for the other member to begin', subscribers, (n) => n === 1);
    await startWorker(app, { queues: ['default'] });
    await expect(waiting).rejects.toThrow(/failed: first/);
    await waitFor('the wait for the other member to end', subscribers, (n) => n === 0);
  });

  it('a chain inside a group, a group after a chain step', async () => {
    const { app, add, mul } = mathApp();
    await startWorker(app, { concurrency: 4 });
    const g = await group(chain(add.s(1, 1), mul.s(10)), add.s(5, 5)).delay();
    expect(await g.get({ timeout: 5000 })).toEqual([20, 10]);
    const r = await chain(add.s(1, 2), group(mul.s(2), mul.s(3))).delay();
    expect(await (r as unknown as GroupResult).get({ timeout: 5000 })).toEqual([6, 9]);
  });
});

describe('chord', () => {
  it('chord(group of 100, sum.s()) runs the body once with the values in order', async () => {
    const { app, add, sum } = mathApp();
    let bodies = 0;
    const counted = app.task('counted', (values: number[]) => {
      bodies++;
      return values;
    });
    await startWorker(app, { concurrency: 8 });
    const r = await chord(Array.from({ length: 100 }, (_, i) => add.s(i, 1)), sum.s()).delay();
    expect(await r.get({ timeout: 10_000 })).toBe(Array.from({ length: 100 }, (_, i) => i + 1).reduce((s, v) => s + v, 0));
    const r2 = await chord(group(add.s(1, 1), add.s(2, 2)), counted.s()).delay();
    expect(await r2.get({ timeout: 5000 })).toEqual([2, 4]);
    expect(bodies).toBe(1);
  });

  it('a member revoked while it runs, whose retry the revocation turns into REVOKED, fails the chord', async () => {
    const { app, add, sum } = mathApp();
    const { passed, open } = gate();
    const retrying = app.task('retrying', async (ctx) => {
      await passed;
      throw ctx.retry({ countdown: 0 });
    }, { bind: true });
    await startWorker(app, { concurrency: 2 });
    const r = await chord([retrying.s(), add.s(1, 1)], sum.s()).delay();
    const member = (r.parent as GroupResult).results[0] as { id: string };
    await waitFor('the member to start', () => app.result(member.id).state(), (s) => s === 'STARTED');
    await app.revoke(member.id);
    open();
    expect(await app.result(member.id).get({ timeout: 5000, propagate: false }).then(() => app.result(member.id).state())).toBe('REVOKED');
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${member.id} (retrying, index 0) failed: TaskRevokedError`) });
  });

  it("a failing member sends the body's errbacks the body's failure; a body's expiry counts from when it is sent", async () => {
    const { app, add, sum, fail } = mathApp();
    const seen: unknown[] = [];
    const errback = app.task('errback', (failure: unknown) => seen.push(failure));
    const nap = app.task('nap', async (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)));
    await startWorker(app, { concurrency: 4 });
    const failed = await chord([add.s(1, 1), fail.s('m')], sum.s()).applyAsync([], {}, { linkError: errback.s() });
    await expect(failed.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError' });
    await waitFor('the errback to run', () => seen.length, (n) => n === 1);
    expect(seen[0]).toMatchObject({ id: failed.id, task: 'sum', error: { name: 'ChordError', message: expect.stringContaining('(fail, index 1) failed: TypeError: failed: m') } });
    // The header takes longer than the body's expiry: the body still runs (its clock starts when it is sent).
    const late = await chord([nap.s(600), nap.s(700)], sum.s().set({ expires: 0.4 })).delay();
    expect(await late.get({ timeout: 5000 })).toBe(1300);
  });

  it('a member revoked before it ran fails the chord at once, as Celery\'s revoked header task does (delayed or waiting)', async () => {
    const { app, add, sum } = mathApp();
    // No worker yet: one member waits in `delayed`, one in `waiting`.
    const r = await chord([add.s(1, 1).set({ countdown: 60 }), add.s(2, 2), add.s(3, 3)], sum.s()).delay();
    const [delayed, waiting] = (r.parent as GroupResult).results.map((m) => m as { id: string });
    await app.revoke(delayed!.id);
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${delayed!.id} (add, index 0) failed: TaskRevokedError: revoked`) });
    // Once failed, it stays failed: another revoked member and the members that run change nothing.
    await app.revoke(waiting!.id);
    await startWorker(app);
    expect(await app.result(((r.parent as GroupResult).results[2] as { id: string }).id).get({ timeout: 5000 })).toBe(6);
    expect(await app.result(waiting!.id).state()).toBe('REVOKED');
    expect(await r.get({ timeout: 100 }).catch((e: unknown) => (e as Error).message)).toBe((err as Error).message);
  });

  it('a member with results off revoked while it runs (no terminate) runs on, and its value completes the chord', async () => {
    const { app, add, sum } = mathApp();
    const { passed, open } = gate();
    let started = false;
    const slow = app.task('slow', async () => {
      started = true;
      await passed;
      return 1;
    }, { ignoreResult: true });
    await startWorker(app, { concurrency: 2 });
    const r = await chord([slow.s(), add.s(2, 2)], sum.s()).delay();
    const memberId = ((r.parent as GroupResult).results[0] as { id: string }).id;
    await waitFor('the member to run', () => started, (s) => s);
    // No STARTED record tells revoke it runs (results are off): it must not fail the chord for a job that may be running.
    await app.revoke(memberId);
    open();
    expect(await r.get({ timeout: 5000 })).toBe(5);
  });

  it('a member that expired before it started fails the chord, whether the node took it to run or held it', async () => {
    const { app, add, sum } = mathApp();
    const past = new Date(Date.now() - 1000);
    // Taken to run at once (first in line, nothing prefetched).
    const first = await chord([add.s(1, 1).set({ expires: past }), add.s(2, 2)], sum.s()).delay();
    const node = await startWorker(app, { concurrency: 1, prefetch: 0 });
    const firstId = ((first.parent as GroupResult).results[0] as { id: string }).id;
    await expect(first.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${firstId} (add, index 0) failed: TaskRevokedError: expired`) });
    await node.stop();
    // Held (prefetched behind a running member), checked when it starts.
    const { passed, open } = gate();
    const slow = app.task('slow', async () => {
      await passed;
      return 1;
    });
    const second = await chord([slow.s(), add.s(2, 2).set({ expires: past })], sum.s()).delay();
    await startWorker(app, { concurrency: 1, prefetch: 4 });
    const secondId = ((second.parent as GroupResult).results[1] as { id: string }).id;
    await waitFor('the slow member to start', () => app.result(((second.parent as GroupResult).results[0] as { id: string }).id).state(), (s) => s === 'STARTED');
    open();
    await expect(second.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${secondId} (add, index 1) failed: TaskRevokedError: expired`) });
  });

  it('a chain in the header whose first step fails, or is revoked before it runs, fails the chord (the later steps never run)', async () => {
    const { app, add, sum, fail } = mathApp();
    const node = await startWorker(app);
    const failed = await chord([chain(fail.si('step 1'), add.s(1)), add.s(2, 2)], sum.s()).delay();
    const failedStep = ((failed.parent as GroupResult).results[0] as { parent?: { id: string } }).parent!.id;
    await expect(failed.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${failedStep} (fail, index 0) failed: TypeError: failed: step 1`) });
    await node.stop();
    // Revoked while it waits (no node runs): the chord fails at once.
    const revoked = await chord([add.s(3, 3), chain(add.s(1, 1), add.s(1), add.s(1))], sum.s()).delay();
    const firstStep = ((revoked.parent as GroupResult).results[1] as { parent?: { parent?: { id: string } } }).parent!.parent!.id;
    await app.revoke(firstStep);
    await expect(revoked.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining(`chord member ${firstStep} (add, index 1) failed: TaskRevokedError: revoked`) });
  });

  it('a chord in the header whose own header fails fails the outer chord too', async () => {
    const { app, add, sum, fail } = mathApp();
    await startWorker(app);
    const r = await chord([chord([add.s(1, 1), fail.si('inner')], sum.s()), add.s(2, 2)], sum.s()).delay();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ remoteName: 'ChordError', message: expect.stringContaining('(sum, index 0) failed: ChordError: chord member') });
  });

  it('an empty header runs the body at once with []', async () => {
    const { app, sum } = mathApp();
    await startWorker(app);
    const r = await chord([], sum.s()).delay();
    expect(await r.get({ timeout: 5000 })).toBe(0);
  });

  it('a failing member fails the chord naming it; the body never runs', async () => {
    const { app, add, sum, fail } = mathApp();
    const node = await startWorker(app, { concurrency: 4 });
    const r = await chord([add.s(1, 1), fail.s('member'), add.s(2, 2)], sum.s()).delay();
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    expect((err as Error).message).toMatch(/ChordError.*chord member .* \(fail, index 1\) failed: TypeError: failed: member/);
    await waitForCount(() => node.stats.processed, 3);
    const client = await app.client();
    expect(await client.hexists(app.keys.queue('default', 'jobs'), r.id)).toBe(0);
    expect(node.stats.processed).toBe(3);
  });

  it('a group followed by more steps is a chord: in the middle of a chain, at its start, and as a chord member', async () => {
    const { app, add, mul, sum } = mathApp();
    const ident = app.task('ident', (v: unknown) => v);
    await startWorker(app, { concurrency: 4 });
    const middle = await chain(add.s(1, 1), group(mul.s(2), mul.s(3)), sum.s()).delay();
    expect(await middle.get({ timeout: 5000 })).toBe(10);
    const first = await chain(group(add.s(1, 1), add.s(2, 2)), sum.s()).delay();
    expect(await first.get({ timeout: 5000 })).toBe(6);
    const nested = await chord([group(add.s(1, 1), add.s(2, 2)), add.s(5, 5)], ident.s()).delay();
    expect(await nested.get({ timeout: 5000 })).toEqual([[2, 4], 10]);
  });

  it('a chord body that is a chain, a chord inside a chain, a group as a chord body', async () => {
    const { app, add, mul, sum } = mathApp();
    await startWorker(app, { concurrency: 4 });
    const r = await chord([add.s(1, 1), add.s(2, 2)], chain(sum.s(), mul.s(10))).delay();
    expect(await r.get({ timeout: 5000 })).toBe(60);
    const r2 = await chain(add.s(1, 1), chord([mul.s(2), mul.s(3)], sum.s()), add.s(100)).delay();
    expect(await r2.get({ timeout: 5000 })).toBe(110);
    const g = (await chord([add.s(1, 1), add.s(2, 2)], group(sum.s(), sum.s())).delay()) as unknown as GroupResult;
    expect(await g.get({ timeout: 5000 })).toEqual([6, 6]);
  });
});

describe('link and linkError', () => {
  it('link gets the value, linkError gets {id, task, error}; each fires once', async () => {
    const { app, add, fail } = mathApp();
    const seen: unknown[] = [];
    const record = app.task('record', (v: unknown) => {
      seen.push(v);
      return v;
    });
    const node = await startWorker(app);
    const ok = await add.applyAsync([2, 3], {}, { link: record.s() });
    await ok.get({ timeout: 5000 });
    const bad = await fail.s('x').applyAsync([], {}, { linkError: record.s() });
    await expect(bad.get({ timeout: 5000 })).rejects.toMatchObject({ code: 'TASKQ_TASK_FAILED' });
    await waitForCount(() => node.stats.processed, 4);
    expect(seen).toHaveLength(2);
    expect(seen).toContainEqual(5);
    expect(seen).toContainEqual({ id: bad.id, task: 'fail', error: { name: 'TypeError', message: 'failed: x' } });
    expect(node.stats.processed).toBe(4);
  });
});

async function waitForCount(read: () => number, n: number): Promise<void> {
  await waitFor(`${n} outcomes`, read, (v) => v >= n);
}

describe('bad canvases', () => {
  it('an unknown task, a cyclic group and an empty chain are refused at the call site; nothing is sent', async () => {
    const { app, add } = mathApp();
    await expect(app.signature('nope').delay()).rejects.toThrow(/unknown task "nope"/);
    const g = group(add.s(1, 1));
    (g.tasks as unknown[]).push(g);
    await expect(g.delay()).rejects.toMatchObject({ code: 'TASKQ_CANVAS_INVALID' });
    expect(() => chain()).toThrow(/at least one/);
    await expect(chain(Array.from({ length: 1001 }, () => add.s(1))).delay(0)).rejects.toThrow(/a chain may have at most 1000 steps, this one has 1001/);
    const twice = add.s(1, 1).set({ jobId: 'same' });
    await expect(chord([twice, twice], add.s(1)).delay()).rejects.toThrow(/task id "same" appears twice in this canvas/);
    const client = await app.client();
    expect(await client.hlen(app.keys.queue('default', 'jobs'))).toBe(0);
  });
});

describe('keyword arguments', () => {
  it('applyAsync(args, kwargs, options) and app.send(name, args, kwargs): the handler gets them last, ctx.kwargs too; signatures carry them through a chain', async () => {
    const app = testApp();
    const greet = app.task('greet', (ctx, name: string, kwargs: { greeting?: string } = {}) => `${kwargs.greeting ?? 'hello'}, ${name}${ctx.kwargs.mark ?? ''}`, { bind: true });
    const upper = app.task('upper', (text: string, kwargs: { suffix?: string } = {}) => text.toUpperCase() + (kwargs.suffix ?? ''));
    await startWorker(app);
    expect(await (await greet.applyAsync(['ada'], { greeting: 'hi', mark: '!' }, { priority: 'high' })).get({ timeout: 5000 })).toBe('hi, ada!');
    expect(await (await app.send('greet', ['bob'], { greeting: 'hey' })).get({ timeout: 5000 })).toBe('hey, bob');
    const r = await chain(greet.signature(['cy'], { greeting: 'yo' }), upper.signature([], { suffix: '?' })).delay();
    expect(await r.get({ timeout: 5000 })).toBe('YO, CY?');
  });

  it('call options passed second, where kwargs go, are refused with the fix; null kwargs are none', async () => {
    const app = testApp();
    const add = app.task('add', (a: number, b: number) => a + b);
    const log = app.task('log', (v: unknown) => v);
    await expect(add.applyAsync([2, 3], { countdown: 2 })).rejects.toMatchObject({ code: 'TASKQ_OPTION_INVALID', message: expect.stringContaining('countdown is a call option: pass options third — applyAsync(args, {}, { countdown })') });
    await expect(app.send('add', [2, 3], { queue: 'x', priority: 'high' })).rejects.toThrow(/queue, priority are call options/);
    await expect(add.applyAsync([2, 3], { link: log.s() }, {})).rejects.toThrow(/kwargs.link is a signature .* callbacks go in the options, third/);
    await expect(add.s(1).applyAsync([1], 'x' as never)).rejects.toThrow(/kwargs \(the second argument\) must be an object/);
    await startWorker(app);
    expect(await (await add.applyAsync([2, 3], null, { priority: 'high' })).get({ timeout: 5000 })).toBe(5);
    // A task that really takes a keyword argument named like an option: say so by passing options.
    const echo = app.task('echo', (kw: { queue?: string } = {}) => kw.queue ?? 'none');
    expect(await (await echo.applyAsync([], { queue: 'as data' }, {})).get({ timeout: 5000 })).toBe('as data');
  });

  it('kwargs JSON would change are refused at the call site, like args', async () => {
    const app = testApp();
    const t = app.task('t', () => 1);
    await expect(t.applyAsync([], { when: new Map() })).rejects.toMatchObject({ code: 'TASKQ_ARGS_UNSERIALIZABLE', message: expect.stringContaining('kwargs.when') });
    await expect(app.send('t', [], [] as never)).rejects.toMatchObject({ code: 'TASKQ_OPTION_INVALID' });
    await expect(t.s().applyAsync([], { n: Number.NaN })).rejects.toMatchObject({ code: 'TASKQ_ARGS_UNSERIALIZABLE' });
  });
});

describe('a chord member the stall check gives up on', () => {
  it('an early-ack member whose node vanished fails the chord (WorkerLostError), from the stall check', async () => {
    const app = testApp({ stallIntervalMs: 100 });
    const { sum } = { sum: app.task('sum', (v: number[]) => v.length) };
    const member = app.task('member', () => 1, { acksLate: false });
    const seen: unknown[] = [];
    const errback = app.task('errback', (failure: unknown) => seen.push(failure));
    const r = await chord([member.s().linkError(errback.s()), app.signature('sum', [[1]])], sum.s()).delay();
    const id = ((r.parent as GroupResult).results[0] as { id: string }).id;
    await strandAndSweep(app, id);
    const err = await r.get({ timeout: 2000 }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ remoteName: 'ChordError' });
    expect((err as Error).message).toContain(`chord member ${id} (member, index 0) failed: WorkerLostError: job ${id} was acknowledged early`);
    // Its errback was sent by the node that ran the check (the script cannot plan a canvas).
    await startWorker(app);
    await waitFor('the errback to run', () => seen.length, (n) => n === 1);
    expect(seen[0]).toMatchObject({ id, task: 'member', error: { name: 'WorkerLostError' } });
  });
});
