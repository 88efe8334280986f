/**
 * A delivery presumed dead that succeeds late, for a job with follow-ups: its success is not recorded
 * (code 0), so its links never run beside the errbacks and chord failure the stall check already
 * caused; a job without follow-ups keeps the late success as before.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { startWorker, strandAndSweep, testApp } from '../../helpers/apps.js';
import { EventReader } from '../../../src/events/event-reader.js';
import { waitFor } from '../../helpers/wait-for.js';
import { decodeJobRecord } from '../../../src/broker/message.js';
import { runScript } from '../../../src/broker/scripts.js';
import { finishEntry, finishHeader, finishKeys } from '../../../src/worker/outcome.js';
import type { App } from '../../../src/core/app.js';

/** Node A takes job `id` and vanishes; the stall check (maxStalls 0) fails it for good. */
async function strand(app: App, id: string): Promise<string> {
  await strandAndSweep(app, id, 'default', 'tokA');
  expect(await app.result(id).state()).toBe('FAILURE');
  return (await (await app.client()).hget(app.keys.queue('default', 'jobs'), id)) as string;
}

/** Node A's late success reaches finish.lua; returns its code. */
async function lateSuccess(app: App, id: string, raw: string): Promise<string> {
  const client = await app.client();
  const now = Date.now();
  const attempt = { id, queue: 'default', record: decodeJobRecord(raw, id, 'default'), taskName: 'parent', outcome: { kind: 'success' as const, resultJson: '1' }, runtimeMs: 1 };
  const argv = [...finishHeader(app.config, app.keys, now, 0, 'A@host'), ...finishEntry(attempt, 'tokA', { config: app.config, keys: app.keys, node: 'A@host', now, startedAt: now, raw })];
  return String(((await runScript(client, 'taskqFinish', finishKeys(app.keys, 'default'), argv)) as unknown[])[0]);
}

describe('a late success after the stall check failed the job', () => {
  it('with a link: not recorded, the link never sent', async () => {
    const app = testApp({ stallIntervalMs: 100, maxStalls: 0 });
    const parent = app.task('parent', () => 1);
    const child = app.task('child', () => 2);
    const r = await parent.applyAsync([], {}, { link: child.s() });
    const raw = await strand(app, r.id);
    expect(await lateSuccess(app, r.id, raw)).toBe('0');
    expect(await r.state()).toBe('FAILURE');
    const client = await app.client();
    expect(await client.hkeys(app.keys.queue('default', 'jobs'))).toEqual([r.id]); // the dead letter, no child
  });

  it('without follow-ups: the late success is kept (code 3), as before', async () => {
    const app = testApp({ stallIntervalMs: 100, maxStalls: 0 });
    const parent = app.task('parent', () => 1);
    const r = await parent.delay();
    const raw = await strand(app, r.id);
    expect(await lateSuccess(app, r.id, raw)).toBe('3');
    expect(await r.state()).toBe('SUCCESS');
  });
});

describe('a follow-up that cannot be stored', () => {
  it('a broken key where a link goes fails the whole finish: the job stays owned and unrecorded, and is recorded with its link once the key is mended', async () => {
    const app = testApp();
    const parent = app.task('parent', () => 1);
    const child = app.task('child', () => 2, { queue: 'other' });
    const client = await app.client();
    const broken = app.keys.queue('other', 'waiting');
    await client.set(broken, 'not a list');
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    await startWorker(app, { taskEvents: true, queues: ['default'], logger });
    const r = await parent.applyAsync([], {}, { link: child.s() });
    await waitFor('a finish to fail on the broken key', () => lines.filter((l) => l.includes('could not record job outcomes')).length, (n) => n >= 2);
    expect(lines.join('\n')).toContain(`the key ${broken} holds a string, not a list`);
    expect(await r.state()).toBe('STARTED');
    expect(await client.hlen(app.keys.queue('other', 'jobs'))).toBe(0);
    await client.del(broken);
    expect(await r.get({ timeout: 10_000 })).toBe(1);
    // Nothing of the failed calls stayed behind: one task-succeeded event, not one per try.
    const events = await new EventReader(await app.redis.connected('blocking', 'ev'), app.keys.events, '0').read({ count: 1000 });
    expect(events.filter((e) => e.type === 'task-succeeded' && e.data.id === r.id)).toHaveLength(1);
    await waitFor('the link to be queued', () => client.llen(broken), (n) => n === 1);
  });
});
