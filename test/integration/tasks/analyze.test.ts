/**
 * analyze.observations on the test Redis against a local origin: progressive files, an HLS master and
 * media playlist, a DASH manifest; one download per resource on q_download, playlists fetched and
 * parsed, a playlist that is not there refused, not guessed.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Observation } from '../../../src/capture/observation.js';
import { registerAnalyze, type AnalyzeSummary, type DownloadRequest } from '../../../src/tasks/analyze/observations.js';
import { resourceId } from '../../../src/tasks/analyze/resource.js';
import { startWorker, testApp } from '../../helpers/apps.js';

const FILES: Record<string, [string, string]> = {
  '/small/icon.mp4': ['video/mp4', 'tiny'],
  '/hls/master.m3u8': ['application/vnd.apple.mpegurl', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000\nlow/index.m3u8\n'],
  '/hls/low/index.m3u8': ['application/vnd.apple.mpegurl', '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\ns1.m4s\n#EXTINF:4,\ns2.m4s\n#EXT-X-ENDLIST\n'],
  '/dash/m.mpd': ['application/dash+xml', '<MPD mediaPresentationDuration="PT8S"><Period><AdaptationSet><SegmentTemplate duration="4" media="$RepresentationID$/$Number$.m4s" initialization="$RepresentationID$/i.mp4"/><Representation id="hd" bandwidth="3000000"/><Representation id="sd" bandwidth="800000"/></AdaptationSet></Period></MPD>'],
};

async function origin(): Promise<string> {
  origin.requests = 0;
  const server = createServer((req, res) => {
    origin.requests++;
    const f = FILES[req.url ?? ''];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0], 'content-length': Buffer.byteLength(f[1]) }).end(f[1]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => void server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
origin.requests = 0;

const obs = (url: string, extra: Partial<Observation> = {}): Observation => ({ kind: 'http', ts: 1, src: '10.0.0.1:5000', dst: '10.0.0.2:80', host: new URL(url).hostname, url, method: 'GET', ...extra });

describe('analyze.observations', () => {
  it('one download per resource: progressive by Range and cache-buster, an HLS media playlist with its parts, each DASH Representation', async () => {
    const base = await origin();
    const app = testApp();
    registerAnalyze(app);
    await startWorker(app, { queues: ['q_analyze'] });
    const mp4 = (q: string, range: string) => obs(`${base}/v/film.mp4?${q}`, { headers: { range }, response: { status: 206, contentType: 'video/mp4', contentLength: 1024, contentRange: 'bytes 0-1023/5000000' } });
    const batch = [
      mp4('rn=1', 'bytes=0-1023'),
      mp4('rn=2', 'bytes=1024-2047'),
      obs(`${base}/hls/master.m3u8`),
      obs(`${base}/hls/low/index.m3u8`),
      obs(`${base}/hls/low/s1.m4s`),
      obs(`${base}/dash/m.mpd`),
      obs(`${base}/gone/index.m3u8`),
      obs(`${base}/page.html`, { response: { status: 200, contentType: 'text/html' } }),
      obs(`${base}/small/icon.mp4`), // no response seen: its size is probed (HEAD), under the minimum
    ];
    const summary = (await (await app.send('analyze.observations', [batch], {}, { queue: 'q_analyze' })).get({ timeout: 10_000 })) as AnalyzeSummary;
    expect(summary).toMatchObject({ seen: 9, enqueued: 4, duplicates: 1, byKind: { progressive: 3, hls: 3, dash: 1, segment: 1, none: 1 } });
    expect(summary.refused).toEqual([
      { url: `${base}/gone/index.m3u8`, why: `playlist not fetched: ${base}/gone/index.m3u8: HTTP 404` },
      { url: `${base}/small/icon.mp4`, why: '4 bytes is under the minimum 65536' },
    ]);

    const client = await app.client();
    const jobs = await client.hgetall(app.keys.queue('q_download', 'jobs'));
    const requests = Object.fromEntries(Object.entries(jobs).map(([id, raw]) => [id, (JSON.parse(raw) as { data: { args: [DownloadRequest] } }).data.args[0]]));
    expect(Object.keys(requests).sort()).toEqual([
      `dl:${resourceId(`${base}/v/film.mp4`)}`,
      `dl:${resourceId(`${base}/hls/low/index.m3u8`)}`,
      `dl:${resourceId(`${base}/dash/m.mpd#hd`)}`,
      `dl:${resourceId(`${base}/dash/m.mpd#sd`)}`,
    ].sort());
    expect(requests[`dl:${resourceId(`${base}/v/film.mp4`)}`]).toMatchObject({ kind: 'progressive', url: `${base}/v/film.mp4`, size: 5000000 });
    expect(requests[`dl:${resourceId(`${base}/hls/low/index.m3u8`)}`]).toMatchObject({ kind: 'hls', live: false, init: { url: `${base}/hls/low/init.mp4` }, parts: [{ url: `${base}/hls/low/s1.m4s` }, { url: `${base}/hls/low/s2.m4s` }] });
    expect(requests[`dl:${resourceId(`${base}/dash/m.mpd#sd`)}`]).toMatchObject({ kind: 'dash', representation: 'sd', init: { url: `${base}/dash/sd/i.mp4` }, parts: [{ url: `${base}/dash/sd/1.m4s` }, { url: `${base}/dash/sd/2.m4s` }] });

    // The same resources seen again later: nothing new waits twice.
    await (await app.send('analyze.observations', [batch], {}, { queue: 'q_analyze' })).get({ timeout: 10_000 });
    expect(await client.hlen(app.keys.queue('q_download', 'jobs'))).toBe(4);
  });

  it("taskq's own requests (analyze's probes, the downloads) are not analyzed again: no feedback loop through the capture", async () => {
    const base = await origin();
    const app = testApp();
    registerAnalyze(app);
    await startWorker(app, { queues: ['q_analyze'] });
    const batch = [
      obs(`${base}/typo.mp4`, { headers: { 'user-agent': 'taskq-analyze' } }), // a probe of a 404 the capture saw
      obs(`${base}/v/film.mp4`, { headers: { 'user-agent': 'taskq-download', range: 'bytes=0-' }, response: { status: 206, contentType: 'video/mp4', contentLength: 5000000, contentRange: 'bytes 0-4999999/5000000' } }),
    ];
    const summary = (await (await app.send('analyze.observations', [batch], {}, { queue: 'q_analyze' })).get({ timeout: 10_000 })) as AnalyzeSummary;
    expect(summary).toMatchObject({ seen: 0, own: 2, enqueued: 0 });
    expect(origin.requests).toBe(0);
    expect(await (await app.client()).hlen(app.keys.queue('q_download', 'jobs'))).toBe(0);
  });
});
