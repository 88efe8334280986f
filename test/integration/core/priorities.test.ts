/** Priorities: within a queue, high jobs are served before normal ones, low ones last; FIFO within a level. */
import { defaults } from '../../../src/defaults.js';
import { describe, expect, it } from 'vitest';
import { stallChecker, startWorker, testApp } from '../../helpers/apps.js';
import { queueStatus, retryDead } from '../../../src/core/queue-admin.js';
import type { App } from '../../../src/core/app.js';
import { waitFor } from '../../helpers/wait-for.js';
import type { Priority } from '../../../src/core/task.js';

describe('priorities', () => {
  it('a backlog is served high → normal → low, in order within each level', async () => {
    const app = testApp();
    const order: string[] = [];
    const job = app.task('job', (label: string) => order.push(label));
    const urgent = app.task('urgent', (label: string) => order.push(label), { priority: 'high' });
    const sends: Array<[string, Priority | undefined]> = [
      ['low1', 'low'], ['n1', undefined], ['high1', 'high'], ['low2', 'low'], ['n2', 'normal'], ['high2', 'high'], ['n3', undefined],
    ];
    for (const [label, priority] of sends) await job.applyAsync([label], {}, priority ? { priority } : {});
    await urgent.delay('task-high'); // the task's own priority
    expect(await queueStatus(app, ['default'])).toMatchObject([{ waiting: 8 }]);
    const node = await startWorker(app, { concurrency: 1 });
    await new Promise<void>((resolve) => node.on('job-finished', () => order.length === 8 && resolve()));
    expect(order).toEqual(['high1', 'high2', 'task-high', 'n1', 'n2', 'n3', 'low1', 'low2']);
  });

  it("a route in Celery's object form gives its queue and priority; the task's own and the call's still win", async () => {
    const app = testApp({ routes: { 'tasks.*': { queue: 'low_q', priority: 'low' }, 'tasks.urgent': { queue: 'low_q', priority: 'high' } } });
    const order: string[] = [];
    const plain = app.task('tasks.plain', (label: string) => order.push(label));
    const urgent = app.task('tasks.urgent', (label: string) => order.push(label));
    const pinned = app.task('tasks.pinned', (label: string) => order.push(label), { priority: 'normal' });
    await plain.delay('plain (route: low)');
    await pinned.delay('pinned (task: normal)');
    await urgent.delay('urgent (route: high)');
    await plain.applyAsync(['plain, call says high'], {}, { priority: 'high' });
    expect(await queueStatus(app, ['low_q'])).toMatchObject([{ waiting: 4 }]);
    const node = await startWorker(app, { concurrency: 1, queues: ['low_q'] });
    await new Promise<void>((resolve) => node.on('job-finished', () => order.length === 4 && resolve()));
    expect(order).toEqual(['urgent (route: high)', 'plain, call says high', 'pinned (task: normal)', 'plain (route: low)']);
  });

  it('an idle worker is woken by a high or low job (not only normal ones)', async () => {
    const app = testApp();
    const t = app.task('t', (x: string) => x);
    await startWorker(app, { concurrency: 1 });
    expect(await (await t.applyAsync(['hi'], {}, { priority: 'high' })).get({ timeout: 5000 })).toBe('hi');
    expect(await (await t.applyAsync(['lo'], {}, { priority: 'low' })).get({ timeout: 5000 })).toBe('lo');
    expect(await queueStatus(app, ['default'])).toMatchObject([{ waiting: 0, active: 0 }]);
  });

  it('an unknown priority is refused at the call site', async () => {
    const app = testApp();
    const t = app.task('t', () => 1);
    await expect(t.applyAsync([], {}, { priority: 'urgent' as Priority })).rejects.toThrow('t.applyAsync: priority must be "high", "normal" or "low", got "urgent"');
  });
});

describe('priority is kept wherever a job goes back to waiting', () => {
  /** A worker (c=1) busy with a gate job while the test queues work behind it. */
  async function gated(app: App): Promise<{ release: () => void; order: string[] }> {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.task('gate', async () => {
      order.push('gate');
      await gate;
    });
    const node = await startWorker(app, { concurrency: 1, prefetch: 0 });
    await app.send('gate', []);
    await waitFor('the gate job to run', () => node.busy, (n) => n === 1);
    return { release, order };
  }

  it('after a countdown (delayed activation): a high job is served before normal ones queued earlier', async () => {
    const app = testApp();
    const { release, order } = await gated(app);
    const job = app.task('job', (label: string) => order.push(label));
    await job.delay('n1');
    await job.delay('n2');
    const later = await job.applyAsync(['high'], {}, { priority: 'high', countdown: 0.2 });
    const client = await app.client();
    await waitFor('it to be raised', () => client.lrange(`${app.keys.queue('default', 'waiting')}:high`, 0, -1), (ids) => ids.includes(later.id));
    release();
    await waitFor('all to run', () => order.length, (n) => n === 4);
    expect(order).toEqual(['gate', 'high', 'n1', 'n2']);
  });

  it('on retry: a high job that fails is tried again before normal ones', async () => {
    const app = testApp();
    const { release, order } = await gated(app);
    const job = app.task('job', (label: string) => order.push(label));
    let tries = 0;
    const flaky = app.task('flaky', () => {
      order.push(`flaky${++tries}`);
      if (tries === 1) throw new Error('once');
    }, { retries: 1, backoff: 0, priority: 'high' });
    await job.delay('n1');
    await job.delay('n2');
    await flaky.delay();
    release();
    await waitFor('all to run', () => order.length, (n) => n === 5);
    expect(order).toEqual(['gate', 'flaky1', 'flaky2', 'n1', 'n2']);
  });

  it('on stall re-delivery and on dead-letter retry', async () => {
    const app = testApp({ stallIntervalMs: 150, maxStalls: 1 });
    app.task('job', () => 'ok');
    const r = await app.send('job', [], {}, { priority: 'high' });
    const client = await app.client();
    const k = app.keys;
    const high = `${k.queue('default', 'waiting')}:high`;
    const checker = await stallChecker(app);
    const check = async (): Promise<{ requeued: string[]; failed: string[] }> => {
      await waitFor('the stall-check block to expire', () => client.pttl(k.queue('default', 'stallBlock')), (ttl) => ttl < 0);
      return checker.checkStalls();
    };
    const takeAndDie = (): Promise<string | null> => client.rpoplpush(high, k.queue('default', 'active'));
    expect(await takeAndDie()).toBe(r.id);
    await check();
    expect(await check()).toEqual({ requeued: [r.id], failed: [] });
    expect(await client.lrange(high, 0, -1)).toEqual([r.id]); // re-delivered at high priority
    expect(await takeAndDie()).toBe(r.id);
    await check();
    expect(await check()).toEqual({ requeued: [], failed: [r.id] }); // dead
    expect(await retryDead(app, 'default', [r.id])).toEqual([r.id]);
    expect(await client.lrange(high, 0, -1)).toEqual([r.id]); // back at high priority
  });
});

describe('rate-limit deferral', () => {
  it('a backlog beyond the rate waits in delayed once, each job holding its own slot, in order', async () => {
    const app = testApp();
    const starts: number[] = [];
    const paced = app.task('paced', (n: number) => starts.push(n), { rateLimit: '20/s' });
    const client = await app.client();
    const sent = await paced.applyBulk(Array.from({ length: 30 }, (_, i) => [i]));
    await startWorker(app, { concurrency: 50 }); // takes them all: 20 fit in the next second, 10 wait
    const delayed = app.keys.queue('default', 'delayed');
    const waiting = await waitFor('the backlog to be deferred', () => client.zrange(delayed, '0', '-1', 'WITHSCORES'), (e) => e.length >= 2 * 5, { intervalMs: 5 });
    const ids = waiting.filter((_, i) => i % 2 === 0);
    const due = waiting.filter((_, i) => i % 2 === 1).map(Number);
    // Each deferred job has its own slot, 50 ms after the one before (20/s), in the order they were sent:
    // none is deferred again when it comes back.
    expect(ids).toEqual(sent.map((r) => r.id).filter((id) => ids.includes(id)));
    for (let i = 1; i < due.length; i++) expect(due[i]! - due[i - 1]!).toBe(50);
    // Each comes back half the horizon before its slot (a node then holds it until the slot), not late.
    const reserved = await client.zrange(`${app.keys.prefix}:default:rateReserved`, '0', '-1', 'WITHSCORES');
    const slotOf = new Map<string, number>();
    for (let i = 0; i < reserved.length; i += 2) slotOf.set(String(reserved[i]).split(' ')[1]!, Number(reserved[i + 1]));
    const checked = ids.filter((id) => slotOf.has(id));
    expect(checked.length).toBeGreaterThan(0);
    for (const id of checked) expect(due[ids.indexOf(id)]).toBe(slotOf.get(id)! - defaults.rateHorizonMs / 2);
    await waitFor('all 30 to run', () => starts.length, (n) => n === 30, { timeoutMs: 5000 });
    expect(starts).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(await client.zcard(delayed)).toBe(0);
    expect(await client.zcard(`${app.keys.prefix}:default:rateReserved`)).toBe(0);
  });
});
