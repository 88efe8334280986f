/**
 * Prefetch: a node may hold jobs beyond its slots (so Redis and the node work at the same time);
 * such a job is announced task-received when taken and task-started (STARTED) only when it starts.
 * By default only while tasks are short: long ones stay in the queue for other nodes.
 */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('prefetch', () => {
  it('a prefetched job is received at once but STARTED only when a slot frees', async () => {
    const app = testApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const step = app.task('step', async (label: string) => {
      order.push(label);
      if (label === 'first') await gate;
      return label;
    });
    const first = await step.delay('first');
    const second = await step.delay('second');
    const client = await app.client();
    await startWorker(app, { taskEvents: true, concurrency: 1, prefetch: 1 });
    await waitFor('the second job to be prefetched', () => client.llen(app.keys.queue('default', 'waiting')), (n) => n === 0);
    expect(await first.state()).toBe('STARTED');
    expect(await second.state()).toBe('PENDING'); // held by the node, not started
    release();
    expect(await second.get({ timeout: 5000 })).toBe('second');
    expect(order).toEqual(['first', 'second']);
    const events = (await new EventReader(client, app.keys.events, '0').read()).filter((e) => e.data.id === second.id).map((e) => e.type);
    expect(events).toEqual(['task-received', 'task-started', 'task-succeeded']);
  });

  it('by default a node does not hold long jobs: they stay queued for other nodes', async () => {
    const app = testApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = app.task('slow', async () => gate);
    const a = await slow.delay();
    await slow.delay();
    await startWorker(app, { taskEvents: true, concurrency: 1 });
    await waitFor('the first job to start', () => a.state(), (s) => s === 'STARTED');
    const client = await app.client();
    expect(await client.llen(app.keys.queue('default', 'waiting'))).toBe(1);
    release();
  });
});
