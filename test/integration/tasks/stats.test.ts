/** schedule.stats on the test Redis: a snapshot of the queues and nodes, kept newest first. */
import { describe, expect, it } from 'vitest';
import { registerStats } from '../../../src/tasks/schedule/stats.js';
import { startWorker, testApp } from '../../helpers/apps.js';

describe('schedule.stats', () => {
  it('records the counts of each queue and the nodes alive, newest first', async () => {
    const app = testApp();
    registerStats(app, ['q_a', 'default']);
    app.task('later', () => null, { queue: 'q_a' });
    await app.send('later', [], {}, { queue: 'q_a', countdown: 60 });
    await app.send('later', [], {}, { queue: 'q_a' });
    await startWorker(app, { queues: ['default'], name: 'stats@box' });
    const first = await (await app.send('schedule.stats', [])).get({ timeout: 5000 });
    const second = await (await app.send('schedule.stats', [])).get({ timeout: 5000 });
    expect(first).toMatchObject({ queues: [{ queue: 'q_a', waiting: 1, active: 0, delayed: 1, dead: 0 }, { queue: 'default', waiting: 0, dead: 0 }], nodes: [{ node: 'stats@box', queues: ['default'] }] });
    const client = await app.client();
    const kept = (await client.lrange(`${app.keys.prefix}:stats:snapshots`, 0, -1)).map((s) => JSON.parse(s) as { at: string });
    expect(kept.map((s) => s.at)).toEqual([(second as { at: string }).at, (first as { at: string }).at]);
  });
});
