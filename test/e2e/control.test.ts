/**
 * `taskq inspect` / `taskq control` and `app.control` against real worker processes: replies from
 * every node (or the named ones), the changes really made, exit 69 when nobody answers, replies and
 * requests of another version ignored without a crash, and a node answering again after Redis restarts.
 */
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { CONTROL_VERSION } from '../../src/core/control-protocol.js';
import { uniquePrefix } from '../helpers/apps.js';
import { fixture, runTaskq, spawnTaskq } from '../helpers/processes.js';
import { privateRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

const basic = fixture('basic.mjs');

function appOn(broker: string, prefix: string): ReturnType<typeof createApp> {
  const app = createApp({ broker, keyPrefix: prefix });
  onTestFinished(() => app.close());
  return app;
}

async function twoNodes(): Promise<{ env: NodeJS.ProcessEnv; prefix: string; app: ReturnType<typeof createApp>; host: string }> {
  const prefix = uniquePrefix();
  const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix };
  await Promise.all(['n1', 'n2'].map((n) => spawnTaskq(['worker', '-A', basic, '-n', `${n}@box`, '-c', '2'], { env })));
  return { env, prefix, app: appOn(inject('redisUrl'), prefix), host: 'box' };
}

describe('remote inspect and control', () => {
  it('inspect: every node answers (or the ones named), with what it runs, knows and counts', async () => {
    const { env, prefix, app } = await twoNodes();
    const ping = await runTaskq(['inspect', 'ping'], env);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/-> n1@box: OK\n {4}pong\n-> n2@box: OK\n {4}pong\n2 nodes replied in \d+ ms\./);

    const one = await runTaskq(['inspect', 'registered', '-d', 'n2@box', '--json'], env);
    expect(Object.keys(JSON.parse(one.stdout))).toEqual(['n2@box']);
    expect((JSON.parse(one.stdout) as Record<string, string[]>)['n2@box']).toEqual(expect.arrayContaining(['add', 'slow', 'spin']));

    const job = await app.send('slow', [1500]);
    const client = await app.client();
    await waitFor('the task to start', () => client.lrange(`${prefix}:started`, 0, -1), (l) => l.includes(job.id));
    const active = await app.control.inspect('active');
    const running = active.replies.flatMap((r) => (r.ok ? r.result.map((t) => ({ node: r.node, ...t })) : []));
    expect(running).toEqual([expect.objectContaining({ id: job.id, task: 'slow', args: [1500], queue: 'default', attempt: 1, startedAt: expect.any(Number) })]);
    await job.get({ timeout: 5000 });

    const stats = await app.control.inspect('stats', { destination: [running[0]!.node] });
    expect(stats.replies[0]).toMatchObject({ ok: true, result: { node: running[0]!.node, totals: { slow: 1 }, pool: { kind: 'async', concurrency: 2 }, counts: { succeeded: 1 } } });

    // conf says what the node does now: task events turned on at run time show there as in stats.
    await app.control.control('enable_events', {}, { destination: ['n1@box'] });
    const conf = await app.control.inspect('conf', { destination: ['n1@box', 'n2@box'] });
    const events = Object.fromEntries(conf.replies.map((r) => [r.node, r.ok ? (r.result as { taskEvents?: boolean }).taskEvents : undefined]));
    expect(events).toEqual({ 'n1@box': true, 'n2@box': false });
  });

  it('control: add and cancel a consumer, grow the pool, set a time limit, shut a node down', async () => {
    const { env, app } = await twoNodes();
    const add = await runTaskq(['control', 'add_consumer', 'extra', '-d', 'n1@box'], env);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('consuming from extra');
    expect(await (await app.send('add', [20, 22], {}, { queue: 'extra' })).get({ timeout: 5000 })).toBe(42);
    expect((await app.control.inspect('active_queues', { destination: ['n1@box'] })).replies[0]).toMatchObject({ ok: true, result: ['default', 'extra'] });
    await app.control.control('cancel_consumer', { queue: 'extra' }, { destination: ['n1@box'] });
    expect((await app.control.inspect('active_queues', { destination: ['n1@box'] })).replies[0]).toMatchObject({ ok: true, result: ['default'] });

    const grow = await app.control.control('pool_grow', { n: 3 }, { destination: ['n2@box'] });
    expect(grow.replies[0]).toMatchObject({ ok: true, result: { ok: 'pool now 5 slots' } });
    const shrinkTooFar = await runTaskq(['control', 'pool_shrink', '9', '-d', 'n1@box'], env);
    expect(shrinkTooFar.code).toBe(1);
    expect(shrinkTooFar.stdout).toContain('it keeps at least 1 [TASKQ_OPTION_INVALID]');

    // A rate limit: stored for the fleet, each node re-reads it; a node that does not run the task says so.
    const rate = await runTaskq(['control', 'rate_limit', 'add', '10/s'], env);
    expect(rate.code, rate.stdout).toBe(0);
    expect(rate.stdout.match(/rate limits re-read \(add\)/g)).toHaveLength(2);
    const unknownRate = await runTaskq(['control', 'rate_limit', 'nosuch', '5/s'], env);
    expect(unknownRate.code).toBe(1);
    expect(unknownRate.stdout).toContain('rate_limit: task "nosuch" is not registered on this node');

    // A hard limit set remotely stops a task that runs longer.
    const limit = await runTaskq(['control', 'time_limit', 'nap', '0.2', '0.4'], env);
    expect(limit.code, limit.stdout).toBe(0);
    const napped = await (await app.send('nap', [3000])).get({ timeout: 5000, propagate: false });
    expect(napped).toMatchObject({ remoteName: 'TimeLimitExceeded' });

    const down = await runTaskq(['control', 'shutdown', '-d', 'n1@box'], env);
    expect(down.stdout).toContain('shutting down (warm)');
    await waitFor('n1 to leave', async () => (await app.control.inspect('ping')).replies.map((r) => r.node), (nodes) => nodes.join() === 'n2@box');
  });

  it('no node replies: exit 69 with what to check; bad methods are usage errors', async () => {
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: uniquePrefix() };
    const none = await runTaskq(['inspect', 'ping', '-t', '0.3'], env);
    expect(none.code).toBe(69);
    expect(none.stderr).toMatch(/no nodes replied within 0.3 s: are workers running on this broker and key prefix\? .*\[TASKQ_NO_REPLY\]/);
    expect((await runTaskq(['inspect', 'frobnicate'], env)).code).toBe(64);
    expect((await runTaskq(['control', 'add_consumer'], env)).stderr).toContain('add_consumer needs a queue name');
  });

  it('replies and requests of another version are ignored, not crashed on', async () => {
    const { app, prefix } = await twoNodes();
    const writer = await app.client();
    // Nodes are sent (before the stranger below listens) a request of a future version and one that asks them to write elsewhere.
    await writer.publish(app.keys.control, JSON.stringify({ op: 'call', v: CONTROL_VERSION + 1, id: 'x', method: 'ping', args: {}, destination: null, replyTo: `${prefix}:reply:x` }));
    await writer.publish(app.keys.control, JSON.stringify({ op: 'call', v: CONTROL_VERSION, id: 'y', method: 'ping', args: {}, destination: null, replyTo: `${prefix}:somewhere-else` }));
    // A stranger answers every request with garbage and with a future version's reply.
    const sub = await app.redis.connected('subscriber', 'stranger');
    await sub.subscribe(app.keys.control);
    sub.on('message', (_c: string, text: string) => {
      const req = JSON.parse(text) as { replyTo?: string; id?: string };
      if (!req.replyTo) return;
      void writer.rpush(req.replyTo, 'not json', JSON.stringify({ v: CONTROL_VERSION + 1, id: req.id, node: 'future@box', ok: true, result: { shape: 'new' } }));
    });
    // A node that never answers makes the caller read until its timeout: every stray reply with it.
    const g = await app.control.inspect('ping', { destination: ['n1@box', 'n2@box', 'ghost@box'], timeoutMs: 1000 });
    expect(g.replies.map((r) => r.node)).toEqual(['n1@box', 'n2@box']);
    expect(g.missing).toEqual(['ghost@box']);
    expect(g.ignored).toBe(2);
    expect(await writer.exists(`${prefix}:reply:x`, `${prefix}:somewhere-else`)).toBe(0);
  });

  it('a node answers again after Redis restarts (its control subscription comes back)', async () => {
    const redis = await privateRedis({ appendonly: false });
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: redis.url, TASKQ_KEY_PREFIX: prefix };
    await spawnTaskq(['worker', '-A', basic, '-n', 'r1@box'], { env });
    const app = appOn(redis.url, prefix);
    expect((await app.control.inspect('ping')).replies.map((r) => r.node)).toEqual(['r1@box']);
    await redis.stop();
    await redis.start();
    // The heartbeat registry is gone with the data: ask the node by name.
    await waitFor('r1 to answer again', async () => (await app.control.inspect('ping', { destination: ['r1@box'], timeoutMs: 500 }).catch(() => ({ replies: [] }))).replies.length, (n) => n === 1, { timeoutMs: 20_000 });
  });
});
