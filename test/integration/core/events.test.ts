/** The durable event stream: independent readers each see every event, resume from cursors and times. */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';
import { chain } from '../../../src/core/canvas/canvas.js';

describe('event stream', () => {
  it('two independent readers each read every task event; a third resumes from a cursor after a reconnect', async () => {
    const app = testApp({ sentEvents: true }); // task-sent too (off by default, as Celery's)
    const add = app.task('add', (a: number, b: number) => a + b);
    const start = Date.now();
    const node = await startWorker(app, { taskEvents: true });
    const readerA = new EventReader(await app.redis.connected('blocking', 'a'), app.keys.events, '0');
    const readerB = new EventReader(await app.redis.connected('blocking', 'b'), app.keys.events, '0');

    const first = await Promise.all([1, 2, 3].map((n) => add.delay(n, n)));
    await Promise.all(first.map((r) => r.get({ timeout: 5000 })));
    const a1 = await readerA.read();
    const cursor = readerA.position; // "disconnect" here
    const second = await Promise.all([4, 5].map((n) => add.delay(n, n)));
    await Promise.all(second.map((r) => r.get({ timeout: 5000 })));
    const b = await readerB.read();
    const resumed = new EventReader(await app.redis.connected('blocking', 'c'), app.keys.events, cursor);
    const a2 = await resumed.read();

    const lifecycle = (events: typeof b, id: string): string[] => events.filter((e) => e.data.id === id).map((e) => e.type);
    for (const r of [...first, ...second]) {
      expect(lifecycle(b, r.id)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded']);
      expect(lifecycle([...a1, ...a2], r.id)).toEqual(['task-sent', 'task-received', 'task-started', 'task-succeeded']);
    }
    // Reader A saw each event once across the reconnect, in the same order as B.
    expect([...a1, ...a2].map((e) => e.streamId)).toEqual(b.map((e) => e.streamId));
    expect(b.find((e) => e.type === 'worker-online')?.data).toMatchObject({ node: node.name, queues: ['default'] });
    const succeeded = b.find((e) => e.type === 'task-succeeded');
    expect(succeeded?.data).toMatchObject({ task: 'add', node: node.name });
    expect(typeof succeeded?.data.runtimeMs).toBe('number');

    // From a time: only events at or after it.
    const fromTime = new EventReader(await app.redis.connected('blocking', 'd'), app.keys.events, new Date(start));
    expect((await fromTime.read()).length).toBe(b.length);
  });

  it('follow() yields events as they come and stops when aborted', async () => {
    const app = testApp();
    const ping = app.task('ping', () => 'pong');
    await startWorker(app, { taskEvents: true });
    const reader = new EventReader(await app.redis.connected('blocking', 'f'), app.keys.events, '$');
    const seen: string[] = [];
    const abort = new AbortController();
    const following = (async () => {
      for await (const e of reader.follow(abort.signal, { blockMs: 100 })) {
        seen.push(e.type);
        if (e.type === 'task-succeeded') abort.abort();
      }
    })();
    const r = await ping.delay();
    await r.get({ timeout: 5000 });
    await following;
    // task-sent is off by default (Celery's task_send_sent_event): the node's events start the story.
    expect(seen.filter((t) => t.startsWith('task-'))).toEqual(['task-received', 'task-started', 'task-succeeded']);
  });

  it('heartbeats show which nodes are alive; worker-offline on stop', async () => {
    const app = testApp({ heartbeatMs: 100 });
    const node = await startWorker(app, { taskEvents: true });
    const reader = new EventReader(await app.redis.connected('blocking', 'h'), app.keys.events, '0');
    const beats = await waitFor('two heartbeats', async () => (await reader.read()).filter((e) => e.type === 'worker-heartbeat'), (e) => e.length >= 1);
    expect(beats[0]?.data).toMatchObject({ node: node.name, active: 0, pid: process.pid });
    expect(Array.isArray(beats[0]?.data.load)).toBe(true);
    await node.stop();
    const after = await reader.read();
    expect(after.at(-1)).toMatchObject({ type: 'worker-offline', data: { node: node.name } });
  });

  it("task events are off by default (Celery's worker_send_task_events): enable_events turns them on in a running node, disable_events off again", async () => {
    const app = testApp();
    const t = app.task('counted', (n: number) => n);
    const node = await startWorker(app, { name: 'quiet@test' });
    expect(node.taskEvents).toBe(false);
    const client = await app.client();
    const taskEventsOf = async (id: string): Promise<string[]> => (await new EventReader(client, app.keys.events, '0').read({ count: 1000 })).filter((e) => e.data.id === id).map((e) => e.type);
    const before = await t.delay(1);
    await before.get({ timeout: 5000 });
    expect(await taskEventsOf(before.id)).toEqual([]);
    // The node still announces itself: worker events are not task events.
    expect((await new EventReader(client, app.keys.events, '0').read()).map((e) => e.type)).toContain('worker-online');

    const enabled = await app.control.control('enable_events', {}, { timeoutMs: 2000 });
    expect(enabled.replies).toEqual([expect.objectContaining({ node: 'quiet@test', ok: true, result: { ok: 'task events enabled' } })]);
    expect((await app.control.inspect('stats')).replies[0]).toMatchObject({ result: { taskEvents: true } });
    const during = await t.delay(2);
    await during.get({ timeout: 5000 });
    expect(await taskEventsOf(during.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);

    await app.control.control('disable_events', {}, { timeoutMs: 2000 });
    const after = await t.delay(3);
    await after.get({ timeout: 5000 });
    expect(await taskEventsOf(after.id)).toEqual([]);
  });

  it('TASKQ_TASK_EVENTS=1 turns them on for every node of the app; with TASKQ_EVENTS=0 enable_events cannot', async () => {
    const on = testApp({ taskEvents: true });
    expect((await startWorker(on)).taskEvents).toBe(true);
    const off = testApp({ events: false, taskEvents: true });
    const node = await startWorker(off, { name: 'silent@test' });
    expect(node.taskEvents).toBe(false);
    const reply = await off.control.control('enable_events', {}, { timeoutMs: 2000, destination: ['silent@test'] });
    expect(reply.replies[0]).toMatchObject({ ok: true, result: { ok: expect.stringContaining('TASKQ_EVENTS=0') } });
    expect(node.taskEvents).toBe(false);
  });

  it('events can be turned off', async () => {
    const app = testApp({ events: false });
    const t = app.task('quiet', () => 1);
    await startWorker(app, { taskEvents: true });
    await (await t.delay()).get({ timeout: 5000 });
    const client = await app.client();
    expect(await client.exists(app.keys.events)).toBe(0);
  });
});

describe('what task events carry (as Celery)', () => {
  it('task-received: the arguments and kwargs as JSON text, whole even when they look like record fields, cut at 512 bytes on a character; task-succeeded: the result', async () => {
    const app = testApp();
    const echo = app.task('echo', (v: unknown) => v);
    const retried = app.task('retried', (ctx, v: unknown) => (ctx.attempt === 1 ? ctx.retry({ countdown: 0 }) : v), { bind: true });
    await startWorker(app, { taskEvents: true });
    const tricky = { x: {}, status: 'y', chain: [{ a: 1 }] };
    const a = await echo.applyAsync([tricky], { k: 'é' });
    const b = await retried.delay(tricky); // its record is re-encoded for the retry (with a status)
    const big = await echo.delay('é'.repeat(400)); // 800 bytes of two-byte characters
    const c = await chain(echo.s('first'), echo.s()).delay(); // the canvas around a step is left out
    await Promise.all([a, b, big, c].map((r) => r.get({ timeout: 5000 })));
    const events = await new EventReader(await app.redis.connected('blocking', 'ev'), app.keys.events, '0').read({ count: 1000 });
    const received = (id: string): string[] => events.filter((e) => e.type === 'task-received' && e.data.id === id).map((e) => e.data.args as string);
    expect(received(a.id)).toEqual(['[{"x":{},"status":"y","chain":[{"a":1}]}],"kwargs":{"k":"é"}']);
    expect(received(b.id)).toEqual(['[{"x":{},"status":"y","chain":[{"a":1}]}]', '[{"x":{},"status":"y","chain":[{"a":1}]}]']);
    expect(received((c.parent as { id: string }).id)).toEqual(['["first"]']);
    expect(received(c.id)).toEqual(['["first"]']);
    const cut = received(big.id)[0] as string;
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(Buffer.byteLength(cut.slice(0, -1))).toBeLessThanOrEqual(512);
    const succeeded = events.find((e) => e.type === 'task-succeeded' && e.data.id === a.id);
    expect(succeeded?.data.result).toBe('{"x":{},"status":"y","chain":[{"a":1}]}');
  });
});
