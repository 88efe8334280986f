/**
 * `node bench/script-cost.mjs`: Redis time per job of the worker's two hot scripts, take.lua and
 * finish.lua, for a batch of 100 no-op jobs (events on; EV=0 for off), from INFO commandstats, without
 * a worker's timing around them: a steady figure to compare script changes by (the c=50 throughput
 * also moves with how the worker's and Redis's turns interleave). Medians of 50 rounds.
 */
import { startRedis } from './redis-server.mjs';
import { loadSystem } from './systems/index.mjs';
import { createApp } from '../dist/index.js';
import { runScript } from '../dist/broker/scripts.js';
const redis = await startRedis();
const sys = await loadSystem('taskq');
const p = await sys.producer(redis);
const app = createApp({ broker: `redis://127.0.0.1:${redis.port}/0` });
const client = await app.client();
const k = app.keys, q = 'bench';
const res = { take: [], finish: [] };
async function usec(fn) {
  await client.config('resetstat');
  const r = await fn();
  const info = await client.info('commandstats');
  let us = 0;
  for (const m of info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/g)) us += Number(m[2]);
  return { r, us };
}
for (let round = 0; round < 60; round++) {
  await redis.control.flushall();
  await p.sendBulk(Array.from({ length: 100 }, (_, i) => ({ i })));
  const now = Date.now();
  const t = await usec(() => runScript(client, 'taskqTake', [k.queue(q, 'waiting'), k.queue(q, 'active'), k.queue(q, 'jobs'), k.events, k.revoked, k.queue(q, 'delayed'), k.queue(q, 'earlierDelayed'), k.queue(q, 'dead')],
    ['', 100, '"w@h"', `tok${round}`, 86400000, 1500000, process.env.EV ?? '1', k.resultPrefix, '', k.ratePrefix, 1000, 0, now]));
  const flat = t.r;
  const argv = [86400000, 1500000, k.resultPrefix, 0, now, '"w@h"', '1'];
  for (let i = 0; i + 4 < flat.length; i += 5) {
    const id = flat[i], token = flat[i + 4];
    const fields = `"id":"${id}","task":"bench.noop","node":"w@h","attempt":1`;
    argv.push(id, token, 'success', `{"state":"SUCCESS",${fields},"startedAt":${now},"doneAt":${now},"runtimeMs":0.012,"result":null}`, 'task-succeeded', `{${fields},"runtimeMs":0.012,"result":"null"}`, '', 0, '');
  }
  const f = await usec(() => runScript(client, 'taskqFinish', [k.queue(q, 'active'), k.queue(q, 'jobs'), k.events, k.queue(q, 'waiting'), k.queue(q, 'delayed'), k.queue(q, 'earlierDelayed'), k.queue(q, 'dead'), k.revoked], argv));
  if (round >= 10) { res.take.push(t.us / 100); res.finish.push(f.us / 100); }
}
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log('take µs/job', med(res.take).toFixed(2), 'finish µs/job', med(res.finish).toFixed(2));
await p.close(); await app.close(); await redis.stop(); process.exit(0);
