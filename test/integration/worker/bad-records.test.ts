/**
 * No input kills a node: records and keys written into Redis by hand or by another program fail their
 * own job (or are named in the log), while the worker process and its other jobs carry on.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq, type WorkerProcess } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';
import { listDead, retryDead } from '../../../src/core/queue-admin.js';
import { runScript } from '../../../src/broker/scripts.js';
import type { App } from '../../../src/core/app.js';

async function worker(app: App): Promise<WorkerProcess> {
  const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix };
  return spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '2', '-l', 'info'], { env });
}

function handWritten(id: string, task: string, argsJson: string): string {
  return `{"stalls":0,"options":{"v":1,"id":"${id}","queue":"default","timestamp":${Date.now()},"attempt":1,"stacktraces":[]},` +
    `"data":{"task":"${task}","args":${argsJson}},"status":"created"}`;
}

describe('records no producer of ours wrote', () => {
  it('a failing job whose arguments nest 10,000 deep fails alone; the node and the good jobs beside it carry on', async () => {
    const app = testApp();
    const client = await app.client();
    const k = app.keys;
    const deep = `[${'['.repeat(10_000)}1${']'.repeat(10_000)}]`;
    const record = handWritten('poison', 'fail', deep);
    await client.hset(k.queue('default', 'jobs'), 'poison', record);
    const before = await Promise.all([1, 2, 3].map((n) => app.send('add', [n, n])));
    await client.lpush(k.queue('default', 'waiting'), 'poison');
    const after = await Promise.all([4, 5, 6].map((n) => app.send('add', [n, n])));
    const node = await worker(app);

    for (const [i, r] of [...before, ...after].entries()) expect(await r.get({ timeout: 10_000 })).toBe(2 * [1, 2, 3, 4, 5, 6][i]!);
    const poison = app.result('poison');
    await waitFor('the poison job to fail', () => poison.state(), (s) => s === 'FAILURE');
    expect(await poison.info()).toMatchObject({ reason: 'unrecordable outcome', error: { message: expect.stringContaining('could not be encoded') } });
    expect((await listDead(app, ['default'])).map((d) => d.id)).toEqual(['poison']);
    expect(await client.hget(k.queue('default', 'jobs'), 'poison')).toBe(record); // kept as it was, to inspect
    expect(node.child.exitCode).toBe(null);
    node.signal('SIGTERM');
    expect(await node.exited).toBe(0);
  });

  it('a job id that is not UTF-8 is dead-lettered at once, not re-delivered until it "stalls"', async () => {
    const app = testApp();
    const client = await app.client();
    const k = app.keys;
    const badId = Buffer.from([0x6a, 0xff, 0xfe, 0x31]);
    const record = handWritten('j', 'add', '[1,1]');
    await client.hset(k.queue('default', 'jobs'), badId, record);
    await client.lpush(k.queue('default', 'waiting'), badId);
    const good = await app.send('add', [2, 2]);
    const node = await worker(app);
    expect(await good.get({ timeout: 10_000 })).toBe(4);
    await waitFor('the bad id to be dead-lettered', () => client.zcard(k.queue('default', 'dead')), (n) => n === 1);
    const dead = await client.zrangeBuffer(k.queue('default', 'dead'), '0', '-1');
    expect(dead[0]?.equals(badId)).toBe(true);
    // Refused when taken: never re-delivered, its record untouched (a stall would have counted in it).
    expect(await client.hget(k.queue('default', 'jobs'), badId)).toBe(record);
    expect(await client.llen(k.queue('default', 'active'))).toBe(0);
    expect(node.child.exitCode).toBe(null);
  });

  it('a key of the wrong type is named in the log, with how to fix it; the node stays up', async () => {
    const app = testApp();
    const client = await app.client();
    const high = `${app.keys.queue('default', 'waiting')}:high`;
    await client.set(high, 'not a list');
    await app.send('add', [1, 1]);
    const node = await worker(app);
    await waitFor('the log to name the key', () => node.output(), (out) => out.includes(`${high} is a string, not a list`));
    expect(node.output()).toContain('Delete or rename this key');
    expect(node.child.exitCode).toBe(null);
  });
});

describe('scripts stopped half-way by a broken key lose nothing', () => {
  it('a take that fails after popping puts the jobs back at the front, in their order; they run once the key is mended', async () => {
    const app = testApp();
    const client = await app.client();
    const k = app.keys;
    const sent = [await app.send('add', [1, 1]), await app.send('add', [2, 2]), await app.send('add', [3, 3])];
    const active = k.queue('default', 'active');
    await client.set(active, 'not a list'); // the take pops the ids, then cannot record their deliveries
    const node = await worker(app);
    await waitFor('the log to name the key', () => node.output(), (out) => out.includes(`${active} is a string, not a list`));
    expect((await client.lrange(k.queue('default', 'waiting'), 0, -1)).reverse()).toEqual(sent.map((r) => r.id));
    await client.del(active);
    expect(await Promise.all(sent.map((r) => r.get({ timeout: 10_000 })))).toEqual([2, 4, 6]);
  });

  it('dead retry leaves the job in the dead letters; delayed activation leaves it in delayed', async () => {
    const app = testApp();
    const client = await app.client();
    const k = app.keys;
    const record = handWritten('d1', 'add', '[1,1]');
    await client.hset(k.queue('default', 'jobs'), 'd1', record);
    await client.zadd(k.queue('default', 'dead'), Date.now(), 'd1');
    await client.set(k.queue('default', 'waiting'), 'not a list');
    await expect(retryDead(app, 'default', ['d1'])).rejects.toThrow(/WRONGTYPE/);
    expect(await client.zrange(k.queue('default', 'dead'), '0', '-1')).toEqual(['d1']);

    await client.hset(k.queue('default', 'jobs'), 'late', handWritten('late', 'add', '[2,2]'));
    await client.zadd(k.queue('default', 'delayed'), Date.now() - 1, 'late');
    const raise = runScript(client, 'taskqRaise', [k.queue('default', 'delayed'), k.queue('default', 'waiting'), k.queue('default', 'jobs')], [10]);
    await expect(raise).rejects.toThrow(/WRONGTYPE/);
    expect(await client.zrange(k.queue('default', 'delayed'), '0', '-1')).toEqual(['late']);
  });
});
