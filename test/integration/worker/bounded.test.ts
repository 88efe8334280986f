/**
 * Everything bounded: dead letters by count and age, the node registry and the queue registry pruned
 * by the stall sweep (no `taskq status` needed), events trimmed by age, and readers told what they
 * missed when events after their cursor were trimmed unread.
 */
import { describe, expect, it } from 'vitest';
import { stallChecker, testApp } from '../../helpers/apps.js';
import { waitFor } from '../../helpers/wait-for.js';
import type { App } from '../../../src/core/app.js';
import { EventReader, EVENTS_MISSED } from '../../../src/events/event-reader.js';
import type { AppOptions } from '../../../src/core/config.js';

async function sweeper(app: App): Promise<() => Promise<void>> {
  const checker = await stallChecker(app);
  const client = await app.client();
  return async () => {
    await waitFor('the stall-check block to expire', () => client.pttl(app.keys.queue('default', 'stallBlock')), (ttl) => ttl < 0);
    await checker.checkStalls();
  };
}

function appWith(options: AppOptions): App {
  return testApp({ stallIntervalMs: 100, ...options });
}

describe('the stall sweep keeps keys bounded', () => {
  it('dead letters: at most deadMaxLen (the newest), none older than deadMaxAgeMs, records deleted with them', async () => {
    const app = appWith({ deadMaxLen: 3, deadMaxAgeMs: 60_000 });
    const client = await app.client();
    const k = app.keys;
    const now = Date.now();
    for (let i = 0; i < 6; i++) {
      // Died i minutes ago (i = 0 is the newest); the two oldest are past the age limit.
      await client.zadd(k.queue('default', 'dead'), now - i * 25_000, `d${i}`);
      await client.hset(k.queue('default', 'jobs'), `d${i}`, '{}');
    }
    const sweep = await sweeper(app);
    await sweep();
    expect(await client.zrange(k.queue('default', 'dead'), '0', '-1')).toEqual(['d2', 'd1', 'd0']);
    expect((await client.hkeys(k.queue('default', 'jobs'))).sort()).toEqual(['d0', 'd1', 'd2']);
  });

  it('dead letters within the age limit: the count limit keeps the newest', async () => {
    const app = appWith({ deadMaxLen: 2, deadMaxAgeMs: 3_600_000 });
    const client = await app.client();
    const k = app.keys;
    const now = Date.now();
    for (let i = 0; i < 4; i++) {
      await client.zadd(k.queue('default', 'dead'), now - i * 1000, `d${i}`);
      await client.hset(k.queue('default', 'jobs'), `d${i}`, '{}');
    }
    await (await sweeper(app))();
    expect(await client.zrange(k.queue('default', 'dead'), '0', '-1')).toEqual(['d1', 'd0']);
    expect((await client.hkeys(k.queue('default', 'jobs'))).sort()).toEqual(['d0', 'd1']);
  });

  it('a queue that holds only delayed jobs (or only dead letters) stays in the registry, so status and revoke still find it', async () => {
    const app = appWith({ heartbeatMs: 100 });
    const client = await app.client();
    const k = app.keys;
    await client.sadd(k.queues, 'default', 'later', 'morgue', 'ghost');
    await client.zadd(k.queue('later', 'delayed'), Date.now() + 3_600_000, 'due-in-an-hour');
    await client.zadd(k.queue('morgue', 'dead'), Date.now(), 'died');
    await client.lpush(k.queue('default', 'waiting'), 'keeps-default-alive');
    const sweep = await sweeper(app);
    await waitFor('the ghost queue to leave the registry', async () => {
      await sweep();
      return client.smembers(k.queues);
    }, (queues) => !queues.includes('ghost'));
    // Each sweep looks at one other queue at random: enough sweeps to have looked at each.
    for (let i = 0; i < 20; i++) await sweep();
    expect((await client.smembers(k.queues)).sort()).toEqual(['default', 'later', 'morgue']);
  });

  it('nodes that stopped beating leave the registry; empty queues nobody consumes leave theirs', async () => {
    const app = appWith({ heartbeatMs: 100 });
    const client = await app.client();
    const k = app.keys;
    await client.zadd(k.nodes, Date.now() - 60_000, 'gone@host');
    await client.sadd(k.queues, 'default', 'ghost');
    await client.lpush(k.queue('default', 'waiting'), 'keeps-default-alive');
    const sweep = await sweeper(app);
    await sweep();
    expect(await client.zrange(k.nodes, '0', '-1')).toEqual([]);
    await waitFor('the ghost queue to leave the registry', async () => {
      await sweep();
      return client.smembers(k.queues);
    }, (queues) => !queues.includes('ghost'));
    expect(await client.smembers(k.queues)).toEqual(['default']);
  });

  it('events older than eventsMaxAgeMs are trimmed', async () => {
    const app = appWith({ eventsMaxAgeMs: 1000 });
    const client = await app.client();
    for (let i = 0; i < 300; i++) await client.xadd(app.keys.events, '*', 'type', 'test', 'data', '{}');
    const written = Date.now();
    const sweep = await sweeper(app);
    await waitFor('them to be older than a second', () => Date.now(), (t) => t > written + 1000);
    await sweep();
    expect(await client.xlen(app.keys.events)).toBeLessThan(100); // trimmed by whole stream nodes (~100)
  });
});

describe('event readers are told what they missed', () => {
  it('a reader whose next events were trimmed gets events-missed with how many, then carries on', async () => {
    const app = testApp({ eventsMaxLen: 100 });
    const client = await app.client();
    const write = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await client.xadd(app.keys.events, 'MAXLEN', '~', 100, '*', 'type', 'test', 'data', JSON.stringify({ i }));
    };
    await write(50);
    const reader = new EventReader(client, app.keys.events, '0');
    expect(await reader.read({ count: 10 })).toHaveLength(10);
    await write(1000); // far past MAXLEN: the 40 unread ones and more are trimmed
    const batch = await reader.read({ count: 10 });
    expect(batch[0]?.type).toBe(EVENTS_MISSED);
    const first = batch[1]!;
    const before = (first.data as { i: number }).i;
    // The first event still there is the (index)th of the second write; everything before it was missed.
    const missed = 40 + before;
    expect(batch[0]?.data).toMatchObject({ missed, resumedAt: first.streamId });
    expect(batch).toHaveLength(11);
    const next = await reader.read({ count: 10 });
    expect(next.map((e) => e.type)).not.toContain(EVENTS_MISSED);
  });

  it('no notice when nothing was missed, even after trimming behind the reader', async () => {
    const app = testApp();
    const client = await app.client();
    for (let i = 0; i < 200; i++) await client.xadd(app.keys.events, '*', 'type', 'test', 'data', '{}');
    const reader = new EventReader(client, app.keys.events, '0');
    expect(await reader.read({ count: 500 })).toHaveLength(200);
    await client.xtrim(app.keys.events, 'MAXLEN', 50);
    for (let i = 0; i < 5; i++) await client.xadd(app.keys.events, '*', 'type', 'test', 'data', '{}');
    const next = await reader.read();
    expect(next.map((e) => e.type)).toEqual(['test', 'test', 'test', 'test', 'test']);
  });

  const add = (app: App, n: number): Promise<unknown> =>
    app.client().then(async (client) => {
      for (let i = 0; i < n; i++) await client.xadd(app.keys.events, '*', 'type', 'test', 'data', JSON.stringify({ i }));
    });

  it('no notice when exactly the events already read were trimmed', async () => {
    const app = testApp();
    const client = await app.client();
    await add(app, 10);
    const reader = new EventReader(client, app.keys.events, '0');
    expect(await reader.read({ count: 4 })).toHaveLength(4);
    await client.xtrim(app.keys.events, 'MAXLEN', 6); // the 4 read go, the 6 unread stay
    expect((await reader.read()).map((e) => e.type)).toEqual(Array(6).fill('test'));
  });

  it('no notice for a reader that starts at the first event still in the stream', async () => {
    const app = testApp();
    const client = await app.client();
    await add(app, 10);
    await client.xtrim(app.keys.events, 'MAXLEN', 6);
    const [[firstId]] = (await client.xrange(app.keys.events, '-', '+', 'COUNT', 1)) as Array<[string, string[]]>;
    const reader = new EventReader(client, app.keys.events, firstId);
    expect((await reader.read()).map((e) => e.type)).toEqual(Array(5).fill('test'));
  });

  it('events got by a blocking read count as read: trimming them later is no gap', async () => {
    const app = testApp();
    const client = await app.client();
    await add(app, 1);
    const reader = new EventReader(client, app.keys.events, '0');
    expect(await reader.read()).toHaveLength(1);
    const other = client.duplicate();
    const blocked = reader.read({ blockMs: 5000 });
    await waitFor('the read to block', async () => String(await other.client('LIST')), (list) => /cmd=xread/.test(list));
    await other.xadd(app.keys.events, '*', 'type', 'test', 'data', '{}');
    expect(await blocked).toHaveLength(1);
    await client.xtrim(app.keys.events, 'MAXLEN', 0);
    await add(app, 1);
    expect((await reader.read()).map((e) => e.type)).toEqual(['test']);
    other.disconnect();
  });
});
