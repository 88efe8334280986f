/** Priorities: within a queue, high jobs are served before normal ones, low ones last; FIFO within a level. */
import { describe, expect, it } from 'vitest';
import { startWorker, testApp } from '../../helpers/apps.js';
import { queueStatus } from '../../../src/broker/queue-admin.js';
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
    for (const [label, priority] of sends) await job.applyAsync([label], priority ? { priority } : {});
    await urgent.delay('task-high'); // the task's own priority
    expect(await queueStatus(app, ['default'])).toMatchObject([{ waiting: 8 }]);
    const node = await startWorker(app, { concurrency: 1 });
    await new Promise<void>((resolve) => node.on('job-finished', () => order.length === 8 && resolve()));
    expect(order).toEqual(['high1', 'high2', 'task-high', 'n1', 'n2', 'n3', 'low1', 'low2']);
  });

  it('an idle worker is woken by a high or low job (not only normal ones)', async () => {
    const app = testApp();
    const t = app.task('t', (x: string) => x);
    await startWorker(app, { concurrency: 1 });
    expect(await (await t.applyAsync(['hi'], { priority: 'high' })).get({ timeout: 5000 })).toBe('hi');
    expect(await (await t.applyAsync(['lo'], { priority: 'low' })).get({ timeout: 5000 })).toBe('lo');
    expect(await queueStatus(app, ['default'])).toMatchObject([{ waiting: 0, active: 0 }]);
  });

  it('an unknown priority is refused at the call site', async () => {
    const app = testApp();
    const t = app.task('t', () => 1);
    await expect(t.applyAsync([], { priority: 'urgent' as Priority })).rejects.toThrow('t.applyAsync: priority must be "high", "normal" or "low", got "urgent"');
  });
});
