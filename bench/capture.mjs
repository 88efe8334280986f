/**
 * Capture benchmarks (issue: capture/analyze):
 *  - offline: `taskq capture --read` against tshark on the same capture file of real lo traffic —
 *    packets/s each, and whether they found the same URLs (goal: ≥ 2× tshark's speed);
 *  - live: libpcap drops while the flow tracker reads ~20k packets/s of HTTP on lo (goal: 0);
 *  - memory: 100,000 half-open connections (SYN and half a request each) through the flow tracker —
 *    heap growth and what the caps keep.
 * Every loop is bounded in count and time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OFFLINE_REQUESTS = 60_000;

async function origin() {
  const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 512 }).end(Buffer.alloc(512, 1)));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: server.address().port };
}

/** `requests` keep-alive GETs over `sockets` connections, recorded to a pcap file. */
async function record(requests, sockets) {
  const { openLive } = await import('../dist/capture/live-source.js');
  const { server, port } = await origin();
  const dir = mkdtempSync(`${tmpdir()}/taskq-bench-capture-`);
  const file = `${dir}/lo.pcap`;
  const source = openLive({ device: 'lo', filter: `tcp port ${port}`, dumpTo: file }, () => {});
  await sleep(200);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  let next = 0;
  const lane = async () => {
    while (next < requests) {
      const i = next++;
      await new Promise((resolve, reject) => request({ host: '127.0.0.1', port, path: `/bench/${i % 97}/video.mp4?i=${i}`, agent, headers: { range: `bytes=${i}-` } }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
    }
  };
  await Promise.all(Array.from({ length: sockets }, lane));
  agent.destroy();
  await sleep(300);
  source.close();
  server.close();
  return { file, dir, port };
}

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return { out, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function offline(log) {
  const { file, dir, port } = await record(OFFLINE_REQUESTS, 8);
  log(`capture offline: recorded ${OFFLINE_REQUESTS} requests`);
  try {
    const packets = Number(execFileSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' }).match(/Number of packets:\s+(\d+)/)?.[1] ?? 0);
    const ours = timeIt(() => execFileSync(process.execPath, [`${ROOT}bin/taskq`, 'capture', '--read', file, '--json', '--http-only'], { encoding: 'utf8', maxBuffer: 1 << 30 }));
    const tshark = timeIt(() => execFileSync('tshark', ['-r', file, '-d', `tcp.port==${port},http`, '-Y', 'http.request && tcp', '-T', 'fields', '-e', 'http.request.full_uri'], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }));
    const a = ours.out.trim().split('\n').map((l) => JSON.parse(l).url).sort();
    const b = tshark.out.trim().split('\n').flatMap((l) => l.split(',')).filter(Boolean).sort();
    const same = a.length === b.length && a.every((u, i) => u === b[i]);
    log(`capture offline: ${packets} packets, ${a.length} URLs; taskq ${ours.ms.toFixed(0)} ms, tshark ${tshark.ms.toFixed(0)} ms, same URLs: ${same}`);
    return { packets, urls: a.length, sameUrls: same, taskqMs: ours.ms, tsharkMs: tshark.ms, taskqPps: packets / (ours.ms / 1000), tsharkPps: packets / (tshark.ms / 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Paced small writes on one TCP connection: about `rate` data packets a second for `seconds`. */
async function live(rate, seconds, log) {
  const { openLive } = await import('../dist/capture/live-source.js');
  const { FlowTracker } = await import('../dist/capture/flow-tracker.js');
  const sink = createServer((s) => s.resume());
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const port = sink.address().port;
  let observed = 0;
  let frames = 0;
  const tracker = new FlowTracker({ serverPorts: [port], onObservation: () => observed++ });
  const source = openLive({ device: 'lo', filter: `tcp port ${port}` }, (f, t, ts) => {
    frames++;
    tracker.push(f, t, ts);
  });
  await sleep(200);
  const s = connect({ host: '127.0.0.1', port, noDelay: true });
  await once(s, 'connect');
  const req = `GET /live/seg.ts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
  const total = rate * seconds;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    s.write(req);
    // Pace: yield whenever ahead of schedule (bounded by the count and by seconds + 5).
    const due = t0 + (i / rate) * 1000;
    if (performance.now() < due) await sleep(due - performance.now());
    if (performance.now() - t0 > (seconds + 5) * 1000) break;
  }
  const sentMs = performance.now() - t0;
  await sleep(500);
  const stats = source.stats();
  s.destroy();
  source.close();
  sink.close();
  tracker.close();
  // On lo libpcap counts each packet twice in ps_recv (see ../shared/docs): halve it.
  const out = { seconds: sentMs / 1000, framesPerSec: frames / (sentMs / 1000), dropped: stats.dropped, requestsSeen: observed, requestsSent: total };
  log(`capture live: ${frames} frames in ${(sentMs / 1000).toFixed(1)} s (${Math.round(out.framesPerSec)}/s), dropped ${stats.dropped}, ${observed}/${total} requests seen`);
  return out;
}

async function memory(conns, log) {
  const { FlowTracker } = await import('../dist/capture/flow-tracker.js');
  const { frameFor } = await import('./capture-frames.mjs');
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const tracker = new FlowTracker({ onObservation: () => {} });
  for (let i = 0; i < conns; i++) {
    const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    tracker.push(frameFor(src, 40000 + (i % 20000), 1000, true, ''), 1, i);
    tracker.push(frameFor(src, 40000 + (i % 20000), 1001, false, 'GET /half/a/request HTTP/1.1\r\nHost: example.'), 1, i);
  }
  global.gc?.();
  const heapMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  const out = { connections: conns, streams: tracker.reassembly.size, heapMb, pendingBytes: tracker.reassembly.counters.pendingBytes, evictions: tracker.reassembly.counters.evictions };
  log(`capture memory: ${conns} half-open connections → ${out.streams} streams kept, heap +${heapMb.toFixed(0)} MB`);
  return out;
}

export async function measureCapture({ log }) {
  return { offline: await offline(log), live: await live(20_000, 5, log), memory: await memory(100_000, log) };
}

export function captureText(c) {
  const o = c.offline;
  return [
    'capture                                   taskq          tshark       taskq/tshark   goal',
    `offline read, packets/s (same URLs: ${o.sameUrls ? 'yes' : 'NO'})  ${String(Math.round(o.taskqPps)).padStart(10)}  ${String(Math.round(o.tsharkPps)).padStart(12)}  ${(o.taskqPps / o.tsharkPps).toFixed(2).padStart(10)}×     ≥ 2×`,
    `live on lo: ${Math.round(c.live.framesPerSec)} frames/s for ${c.live.seconds.toFixed(1)} s, dropped ${c.live.dropped} (goal 0), requests seen ${c.live.requestsSeen}/${c.live.requestsSent}`,
    `memory: ${c.memory.connections} half-open connections → ${c.memory.streams} streams kept (cap 100,000), heap +${c.memory.heapMb.toFixed(0)} MB`,
    '',
  ].join('\n');
}
