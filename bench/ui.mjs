/**
 * Web UI benchmark (issue: web UI): with 1,000 events/s flowing into the stream for 20 s,
 *  - API p99 latency (GET /api/tasks?limit=100 and /api/workers, one after the other, all along),
 *  - push delay to 50 connected SSE clients (receive time − the event's stream time), p50 / p99,
 *  - the server's memory, and the page's JS heap in Chromium (if installed) on the Tasks page before
 *    and after up to 3,600,000 events (an hour's worth at 1,000/s) pushed in steps of 20,000 as fast as
 *    Redis takes them, each step delivered to a watching SSE client before the next (10 minutes at most).
 * Every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { percentile } from './util.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-ui-token-0123456789abcdef';
const CLIENTS = 50;
const RATE = 1000;
const SECONDS = 20;
/** An hour's worth of events at 1,000/s, pushed as fast as Redis takes them, for the page's memory. */
const HOUR_EVENTS = 3_600_000;
/** Events pushed at a time (well under the stream's cap). */
const HOUR_STEP = 20_000;

async function startUi(env) {
  const child = spawn(process.execPath, [`${ROOT}bin/taskq`, 'ui', '--port', '0', '--token', TOKEN], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr.on('data', (c) => (out += c.toString()));
  const deadline = Date.now() + 20_000;
  let url;
  while (!(url = /taskq ui on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1])) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`taskq ui did not start:\n${out}`);
    await sleep(20);
  }
  return { url, child };
}

function sseClient(base, delays) {
  const req = request(`${base}/api/events?from=$`, (res) => {
    let buf = '';
    res.on('data', (c) => {
      // One split per chunk (a catch-up chunk holds thousands of events; re-slicing per event is quadratic).
      const parts = (buf + c.toString()).split('\n\n');
      buf = parts.pop() ?? '';
      const now = Date.now();
      for (const part of parts) {
        const id = /^id: (\d+)-/m.exec(part)?.[1];
        if (id) delays.push(now - Number(id));
      }
    });
  });
  req.end();
  return req;
}

async function timed(url) {
  const t = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  return performance.now() - t;
}

/** `total` task events at `rate` per second (or as fast as possible without a rate). */
async function pump(redis, stream, total, rate) {
  const started = performance.now();
  for (let sent = 0, n = 0; sent < total; n++) {
    const batch = Math.min(rate ? Math.max(1, rate / 100) : 1000, total - sent);
    const pipe = redis.pipeline();
    for (let i = 0; i < batch; i++, sent++) {
      const id = `bench-${sent}`;
      pipe.xadd(stream, 'MAXLEN', '~', '200000', '*', 'type', i % 2 ? 'task-succeeded' : 'task-started', 'data', JSON.stringify({ id, task: 'bench.task', node: 'bench@host', attempt: 1, runtimeMs: 3 }));
    }
    await pipe.exec();
    if (rate) {
      const due = started + ((sent / rate) * 1000);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }
}

export async function measureUi(redis, { log }) {
  const prefix = `bui${Date.now()}`;
  const broker = `redis://127.0.0.1:${redis.port}`;
  const { url, child } = await startUi({ TASKQ_BROKER_URL: broker, TASKQ_KEY_PREFIX: prefix });
  const producer = new Redis({ host: '127.0.0.1', port: redis.port });
  const clients = [];
  const delays = [];
  let chromium;
  try {
    for (let i = 0; i < CLIENTS; i++) clients.push(sseClient(url, delays));
    await sleep(500);
    const api = [];
    let loading = true;
    const prober = (async () => {
      while (loading && api.length < 100_000) {
        api.push(await timed(`${url}/api/tasks?limit=100`));
        api.push(await timed(`${url}/api/workers`));
        await sleep(20);
      }
    })();
    log(`ui: ${RATE} events/s for ${SECONDS} s to ${CLIENTS} SSE clients`);
    await pump(producer, `${prefix}:events`, RATE * SECONDS, RATE);
    await sleep(500);
    loading = false;
    await prober;
    const out = {
      events: RATE * SECONDS,
      clients: CLIENTS,
      pushDelay: { p50Ms: percentile(delays, 50), p99Ms: percentile(delays, 99), received: delays.length, expected: RATE * SECONDS * CLIENTS },
      api: { p50Ms: percentile(api, 50), p99Ms: percentile(api, 99), requests: api.length },
    };
    log(`ui: push p50 ${out.pushDelay.p50Ms} ms, p99 ${out.pushDelay.p99Ms} ms (${delays.length}/${out.pushDelay.expected}); API p99 ${out.api.p99Ms.toFixed(1)} ms`);
    for (const c of clients) c.destroy();

    if (existsSync('/usr/bin/chromium')) {
      const { chromium: pw } = await import('playwright-core');
      chromium = await pw.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'] });
      const page = await chromium.newPage();
      await page.goto(`${url}/#/tasks`);
      await page.locator('#tasks').waitFor();
      const cdp = await page.context().newCDPSession(page);
      const heap = async () => {
        await cdp.send('HeapProfiler.collectGarbage');
        return (await cdp.send('Runtime.getHeapUsage')).usedSize;
      };
      await pump(producer, `${prefix}:events`, 10_000, 0);
      await sleep(2000);
      const before = await heap();
      const seen = [];
      const watcher = sseClient(url, seen);
      await sleep(300);
      const t0 = Date.now();
      // In steps the event stream holds whole (it is capped; a burst of millions would be trimmed
      // before any reader sees it), each delivered to the watcher before the next; 10 minutes at most.
      let sent = 0;
      while (sent < HOUR_EVENTS && Date.now() - t0 < 600_000) {
        await pump(producer, `${prefix}:events`, HOUR_STEP, 0);
        sent += HOUR_STEP;
        while (seen.length < sent && Date.now() - t0 < 600_000) await sleep(200);
      }
      watcher.destroy();
      out.hourDeliveredS = (Date.now() - t0) / 1000;
      out.hourDelivered = seen.length;
      await sleep(3000);
      const after = await heap();
      out.page = { heapBeforeMb: before / 1e6, heapAfterMb: after / 1e6, eventsBetween: HOUR_EVENTS, rows: await page.locator('#tasks tbody tr').count() };
      log(`ui: page heap ${out.page.heapBeforeMb.toFixed(1)} → ${out.page.heapAfterMb.toFixed(1)} MB over ${HOUR_EVENTS} events`);
    }
    const rss = Number((await import('node:fs')).readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
    out.serverRssMb = rss / 1024;
    return out;
  } finally {
    await chromium?.close();
    for (const c of clients) c.destroy();
    producer.disconnect();
    child.kill('SIGTERM');
  }
}

export function uiText(u) {
  return [
    `web UI (${u.events} events at ${RATE}/s, ${u.clients} SSE clients):`,
    `  push delay: p50 ${u.pushDelay.p50Ms} ms, p99 ${u.pushDelay.p99Ms} ms (${u.pushDelay.received} of ${u.pushDelay.expected} deliveries)`,
    `  API (GET /api/tasks?limit=100, /api/workers) during the load: p50 ${u.api.p50Ms.toFixed(1)} ms, p99 ${u.api.p99Ms.toFixed(1)} ms (${u.api.requests} requests)`,
    u.page ? `  page (Tasks, Chromium): JS heap ${u.page.heapBeforeMb.toFixed(1)} MB → ${u.page.heapAfterMb.toFixed(1)} MB after ${u.hourDelivered} more events delivered in ${u.hourDeliveredS.toFixed(0)} s (goal: an hour's worth at 1,000/s, ${u.page.eventsBetween}); ${u.page.rows} rows shown` : '  page: chromium not installed',
    `  server RSS after: ${u.serverRssMb.toFixed(0)} MB (it keeps at most 10,000 tasks)`,
    '',
  ].join('\n');
}
