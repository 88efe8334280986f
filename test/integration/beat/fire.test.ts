/** beat-fire.lua and beat-lease.lua on the test Redis: the fence and the forward-only slot claim. */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../src/broker/scripts.js';
import { Lease } from '../../../src/beat/lease.js';
import { JobTemplate } from '../../../src/core/job-template.js';
import { testApp } from '../../helpers/apps.js';

describe('beat-fire.lua', () => {
  it('only the lease holder fires; a slot at or before the last one is never sent again', async () => {
    const app = testApp();
    app.task('tick', () => 'tick');
    const client = await app.client();
    const k = app.keys;
    const a = new Lease(client, k.beatLeader, 'A', 2000);
    const b = new Lease(client, k.beatLeader, 'B', 2000);
    expect(await a.acquire()).toBe(0);
    const left = await b.acquire();
    expect(left).toBeGreaterThan(0); // B learns how long A's lease has left
    expect(left).toBeLessThanOrEqual(2000);
    expect(await b.renew()).toBe(false);

    const fire = (token: string, slot: number): Promise<unknown> => {
      const template = new JobTemplate('tick', app.tasks.get('tick'), {}, app.router, Date.now(), false);
      const job = template.build([], `beat:tick@${slot}`, 'test');
      const q = template.queue;
      return runScript(client, 'taskqBeatFire', [k.beatLeader, k.beatState, k.queue(q, 'jobs'), k.queue(q, 'waiting'), k.queue(q, 'delayed'), k.queue(q, 'earlierDelayed'), k.events], [token, 'tick', slot, slot + 1000, 1000, k.resultPrefix, ...job, '']);
    };
    expect(await fire('A', 5000)).toBe(1);
    expect(await fire('A', 5000)).toBe(0); // the same slot again
    expect(await fire('A', 4000)).toBe(0); // an older one
    expect(await fire('B', 6000)).toBe(-1); // not the leader: fenced off
    expect(await client.hmget(k.beatState, 'tick:last', 'tick:total', 'tick:next')).toEqual(['5000', '1', '6000']);
    expect(await client.lrange(k.queue('default', 'waiting'), 0, -1)).toEqual(['beat:tick@5000']);

    expect(await b.release()).toBe(false); // B cannot drop A's lease
    expect(await a.release()).toBe(true);
    expect(await b.acquire()).toBe(0);
    expect(await fire('B', 6000)).toBe(1);
  });
});
