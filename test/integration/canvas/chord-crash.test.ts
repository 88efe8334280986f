/**
 * A chord across real worker processes, one killed with -9 in the middle of the header: every member
 * still ends (re-delivered), and the body runs exactly once with every value in order.
 */
import { describe, expect, inject, it } from 'vitest';
import { chord } from '../../../src/core/canvas/canvas.js';
import type { GroupResult } from '../../../src/core/group-result.js';
import { testApp } from '../../helpers/apps.js';
import { fixture, spawnTaskq } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('chord with a node killed -9 mid-header', () => {
  it('runs its body once, with all 100 values in order', async () => {
    const app = testApp({ stallIntervalMs: 500 });
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: app.keys.prefix, TEST_STALL_MS: '500' };
    const args = ['worker', '-A', fixture('basic.mjs'), '-Q', 'default', '-c', '4'];
    const victim = await spawnTaskq([...args, '-n', 'victim@%h'], { env });
    const client = await app.client();

    const members = Array.from({ length: 100 }, () => app.signature('count', [60]));
    const result = await chord(members, app.signature('collect')).delay();
    await waitFor('the victim to run 8 members', () => client.hlen(`${app.keys.prefix}:runs`), (n) => n >= 8);
    const survivor = await spawnTaskq([...args, '-n', 'survivor@%h'], { env });
    victim.signal('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    const values = (await result.get({ timeout: 30_000 })) as string[];
    // Each member returns its own id: the body got them all, in the header's order.
    const header = result.parent as GroupResult;
    expect(values).toEqual(header.results.map((r) => r.id));
    const runs = await client.hgetall(`${app.keys.prefix}:runs`);
    expect(runs[result.id]).toBe('1');
    expect(Object.keys(runs).filter((id) => values.includes(id))).toHaveLength(100);
    // Members that ran twice (in flight at the kill) still count once.
    const twice = values.filter((id) => Number(runs[id]) > 1).length;
    console.info(`chord of 100 with a kill -9: body ran once; ${twice} members ran twice`);
    // The members' values are dropped once the body went (the chord's marker stays until it expires).
    expect(await client.exists(`${app.keys.chord(header.id)}:r`)).toBe(0);
    expect(await client.hget(app.keys.chord(header.id), 'fired')).toBe('1');
    survivor.signal('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });
});
