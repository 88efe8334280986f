/**
 * Capture on real traffic: a local origin serves a video file over HTTP on 127.0.0.1 and ::1, a real
 * client fetches it with Range requests on keep-alive connections, libpcap captures `lo` (and writes
 * what it saw to a file), and the flow tracker sees every request; `taskq capture --read` of that file
 * finds the same URLs.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { FlowTracker } from '../../src/capture/flow-tracker.js';
import { openLive } from '../../src/capture/live-source.js';
import type { Observation } from '../../src/capture/observation.js';
import { root, runTaskq, spawnTaskq } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/apps.js';
import { createApp } from '../../src/core/app.js';
import { resourceId } from '../../src/tasks/analyze/resource.js';
import { waitFor } from '../helpers/wait-for.js';
import { demoMedia } from '../../src/demo/media.js';
import { startOrigin } from '../../src/demo/origin.js';

const VIDEO = Buffer.alloc(256 * 1024, 7);

async function origin(host: string): Promise<number> {
  const server = createServer((req, res) => {
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Number(m[2]) : VIDEO.length - 1;
    res.writeHead(m ? 206 : 200, { 'content-type': req.url?.includes('.txt') ? 'text/plain' : 'video/mp4', 'content-length': end - start + 1, ...(m ? { 'content-range': `bytes ${start}-${end}/${VIDEO.length}` } : {}) });
    res.end(VIDEO.subarray(start, end + 1));
  });
  server.listen(0, host);
  await once(server, 'listening');
  onTestFinished(() => void server.close());
  return (server.address() as AddressInfo).port;
}

function fetch(url: string, agent: Agent, range?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent, headers: range ? { range } : {} }, (res: IncomingMessage) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    }).on('error', reject);
  });
}

describe('the flagship pipeline: capture node → analyze node → q_download', () => {
  it('a client plays a generated MP4 (Range requests) and an HLS set: exactly one download each; stop ends the capture', async () => {
    // The demo's videos: an MP4 and an HLS set cut from it, made by ffmpeg (Debian's package).
    const media = await demoMedia(mkdtempSync(`${tmpdir()}/taskq-media-`));
    const demo = await startOrigin({ files: media });
    onTestFinished(() => demo.close());
    const port = Number(new URL(demo.url).port);
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix };
    const flagship = `${root}dist/app.js`;
    await spawnTaskq(['worker', '-A', flagship, '-Q', 'q_pcap', '-c', '1', '-n', 'capture@box'], { env });
    await spawnTaskq(['worker', '-A', flagship, '-Q', 'q_analyze', '-c', '2', '-n', 'analyze@box'], { env });
    const start = await runTaskq(['capture', 'start', '-A', flagship, '--device', 'lo', '--ports', String(port), '--no-tls'], env);
    expect(start.code, start.stderr).toBe(0);
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());
    await waitFor('the capture to run', () => app.result('capture:lo').state(), (s) => s === 'STARTED', { timeoutMs: 10_000 });
    // libpcap's filter is set once the session is open: the task marks itself started just before.
    await waitFor('capture to see traffic', async () => {
      await fetch(`${demo.url}/probe.txt`, new Agent());
      const p = (await app.result('capture:lo').info())?.progress as { packets?: number } | undefined;
      return p?.packets ?? 0;
    }, (n) => n > 0, { timeoutMs: 15_000, intervalMs: 250 });

    const mp4 = media['/demo.mp4']!.body;
    const agent = new Agent({ keepAlive: true });
    // A player: the head, then a few ranges further in.
    for (let i = 0; i < 4; i++) await fetch(`${demo.url}/demo.mp4`, agent, `bytes=${i * 65536}-${i * 65536 + 65535}`);
    await fetch(`${demo.url}/hls/index.m3u8`, agent);
    const segments = Object.keys(media).filter((p) => p.endsWith('.ts'));
    expect(segments.length).toBeGreaterThan(1);
    for (const seg of segments) await fetch(`${demo.url}${seg}`, agent);
    agent.destroy();
    const client = await app.client();
    const ids = await waitFor('two downloads', () => client.hkeys(app.keys.queue('q_download', 'jobs')), (k) => k.length >= 2, { timeoutMs: 15_000 });
    expect(ids.sort()).toEqual([`dl:${resourceId(`${demo.url}/demo.mp4`)}`, `dl:${resourceId(`${demo.url}/hls/index.m3u8`)}`].sort());
    const jobs = await Promise.all(ids.map(async (id) => (JSON.parse((await client.hget(app.keys.queue('q_download', 'jobs'), id)) as string) as { data: { args: Array<{ size?: number; kind: string; parts?: unknown[] }> } }).data.args[0]!));
    expect(jobs).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'progressive', size: mp4.length }), expect.objectContaining({ kind: 'hls', parts: expect.any(Array) })]));
    expect(jobs.find((j) => j.kind === 'hls')?.parts).toHaveLength(segments.length);

    // Stopping needs no app module, as the start's own hint says.
    const stop = await runTaskq(['capture', 'stop', '--device', 'lo'], env);
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor('the capture to end', () => app.result('capture:lo').state(), (s) => s === 'REVOKED', { timeoutMs: 10_000 });
    expect(await client.hlen(app.keys.queue('q_download', 'jobs'))).toBe(2);
  });
});

describe('capture on lo', () => {
  it('sees every request of a real client (Range, keep-alive, IPv4 and IPv6); the same file read offline gives the same URLs', async () => {
    const port4 = await origin('127.0.0.1');
    const port6 = await origin('::1');
    const dump = `${mkdtempSync(`${tmpdir()}/taskq-capture-`)}/lo.pcap`;
    const seen: Observation[] = [];
    const tracker = new FlowTracker({ onObservation: (o) => seen.push(o) });
    const errors: Error[] = [];
    const source = openLive({ device: 'lo', filter: `tcp port ${port4} or tcp port ${port6}`, dumpTo: dump }, (f, type, ts) => tracker.push(f, type, ts), (e) => errors.push(e));
    onTestFinished(() => source.close());

    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const urls: string[] = [];
    for (let i = 0; i < 4; i++) {
      const url = `http://127.0.0.1:${port4}/media/clip.mp4?part=${i}`;
      urls.push(url);
      expect(await fetch(url, agent, `bytes=${i * 65536}-${i * 65536 + 65535}`)).toBe(65536);
    }
    const v6 = `http://[::1]:${port6}/media/other.mp4`;
    urls.push(v6);
    expect(await fetch(v6, agent)).toBe(VIDEO.length);
    agent.destroy();

    const got = await waitFor('every request to be seen', () => seen.filter((o) => o.kind === 'http').map((o) => o.url), (u) => u.length >= urls.length, { timeoutMs: 10_000 });
    expect(got).toEqual(urls);
    expect(seen.filter((o) => o.kind === 'http').map((o) => o.headers?.range)).toEqual(['bytes=0-65535', 'bytes=65536-131071', 'bytes=131072-196607', 'bytes=196608-262143', undefined]);
    expect(seen.filter((o) => o.kind === 'http').map((o) => o.response)).toEqual([
      ...[0, 1, 2, 3].map((i) => ({ status: 206, contentType: 'video/mp4', contentLength: 65536, contentRange: `bytes ${i * 65536}-${i * 65536 + 65535}/${VIDEO.length}` })),
      { status: 200, contentType: 'video/mp4', contentLength: VIDEO.length },
    ]);
    expect(errors).toEqual([]);
    source.close();

    const offline = await runTaskq(['capture', '--read', dump, '--json', '--http-only'], {});
    expect(offline.code, offline.stderr).toBe(0);
    const lines = offline.stdout.trim().split('\n').map((l) => JSON.parse(l) as { url: string; method: string; host: string; src: string; dst: string; ts: number });
    expect(lines.map((l) => l.url)).toEqual(urls);
    expect(lines[0]).toMatchObject({ method: 'GET', host: '127.0.0.1', dst: `127.0.0.1:${port4}`, ts: expect.any(Number) });
    expect(readFileSync(dump).length).toBeGreaterThan(VIDEO.length);
  });

  it('without CAP_NET_RAW: an error naming the capability, exit 77 (NOPERM); with only CAP_NET_RAW (not root): it captures', async () => {
    const script = `const { openLive } = await import('${root}dist/capture/live-source.js'); try { const s = openLive({ device: 'lo' }, () => {}); s.close(); console.log('opened'); } catch (e) { console.log(e.exitCode + ' ' + e.message); } process.exit(0);`; // exit: node_pcap's close() keeps an idle process alive
    const run = (caps: string[]) => execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...caps, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    expect(run(['--inh-caps=-all', '--bounding-set=-all'])).toMatch(/^77 cannot capture on lo: .*Capturing needs CAP_NET_RAW: run as root, give node the capability \(setcap cap_net_raw\+ep/);
    expect(run(['--inh-caps=+net_raw', '--ambient-caps=+net_raw', '--bounding-set=-all,+net_raw'])).toBe('opened');
  });

  it('a missing interface and a file that is not a capture: clear errors and sysexits codes', async () => {
    expect(() => openLive({ device: 'nosuch0' }, () => {})).toThrow(/cannot capture on nosuch0: .*Check the interface name \(ip link\)/);
    const notACapture = `${mkdtempSync(`${tmpdir()}/taskq-capture-`)}/x.pcap`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(notACapture, 'hello, not a capture');
    const r = await runTaskq(['capture', '--read', notACapture], {});
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('not a pcap or pcapng file (unknown magic number) [TASKQ_CAPTURE_FILE_INVALID]');
    const missing = await runTaskq(['capture', '--read', '/nonexistent/x.pcap'], {});
    expect(missing.code).toBe(66);
  });
});
