/**
 * The cache server on a real socket: byte-exact Range answers, conditional requests on the sha256
 * ETag, HEAD, the origin's Content-Type, lookups by URL, folder entries (HLS) with their parts, and
 * every path that tries to leave the store refused.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CacheIndex } from '../../../src/download/cache-index.js';
import { listenCacheServer } from '../../../src/download/cache-server.js';
import { testApp } from '../../helpers/apps.js';

const BODY = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7 + (i >> 8)) % 256));
const SHA = createHash('sha256').update(BODY).digest('hex');
const VID = 'a'.repeat(32);
const HLS = 'b'.repeat(32);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path exactly as written (fetch would normalise `..` away). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.path = path;
    req.end();
  });
}

async function serve(): Promise<{ base: string; index: CacheIndex; outside: string }> {
  const app = testApp();
  const index = new CacheIndex(await app.client(), app.keys.prefix);
  const root = mkdtempSync(`${tmpdir()}/taskq-serve-`);
  // Under a dot folder, as npm start's .state/cache/store.
  const store = `${root}/.state/store`;
  mkdirSync(`${store}/${HLS}`, { recursive: true });
  writeFileSync(`${store}/${VID}.mp4`, BODY);
  writeFileSync(`${store}/${HLS}/index.m3u8`, '#EXTM3U\n#EXTINF:1,\n0000.ts\n#EXT-X-ENDLIST\n');
  writeFileSync(`${store}/${HLS}/0000.ts`, BODY.subarray(0, 188 * 10));
  writeFileSync(`${root}/secret.txt`, 'outside the store');
  writeFileSync(`${store}/.hidden`, 'a dot file in the store');
  await index.put({ id: VID, url: 'http://origin.test/v.mp4?x=1', kind: 'progressive', file: `${store}/${VID}.mp4`, size: BODY.length, contentType: 'video/mp4', sha256: SHA });
  await index.put({ id: HLS, url: 'http://origin.test/live/index.m3u8', kind: 'hls', file: `${store}/${HLS}`, size: 1880, contentType: 'application/vnd.apple.mpegurl', sha256: 'c'.repeat(64) });
  const server = await listenCacheServer({ index, storeDir: store, host: '127.0.0.1', port: 0 });
  onTestFinished(() => server.close());
  return { base: server.url, index, outside: `${root}/secret.txt` };
}

describe('the cache server', () => {
  it('serves a file whole and by Range, byte-exactly, with its type and its sha256 as ETag', async () => {
    const { base, index } = await serve();
    const whole = await get(base, `/c/${VID}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(BODY)).toBe(true);
    expect(whole.headers).toMatchObject({ 'content-type': 'video/mp4', etag: `"${SHA}"`, 'accept-ranges': 'bytes', 'content-length': String(BODY.length) });
    for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=99990-', 99_990, 99_999], ['bytes=-10', 99_990, 99_999], ['bytes=5000-5000', 5000, 5000], ['bytes=50000-999999', 50_000, 99_999]] as const) {
      const part = await get(base, `/c/${VID}`, { range });
      expect(part.status, range).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${BODY.length}`);
      expect(part.body.equals(BODY.subarray(start, end + 1)), range).toBe(true);
    }
    expect((await get(base, `/c/${VID}`, { range: 'bytes=200000-' })).status).toBe(416);
    expect((await get(base, `/c/${VID}`, { 'if-none-match': `"${SHA}"` })).status).toBe(304);
    // If-Range with another validator: the whole file, not a piece of a different version.
    const stale = await get(base, `/c/${VID}`, { range: 'bytes=0-9', 'if-range': '"not-it"' });
    expect([stale.status, stale.body.length]).toEqual([200, BODY.length]);
    const head = await get(base, `/c/${VID}`, {}, 'HEAD');
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([200, 0, String(BODY.length)]);
    // Hits: the whole file, the Range from 0, the 304 revalidation and the If-Range answer (the whole
    // file); later ranges, the refused one and HEAD are not.
    expect((await index.get(VID))?.hits).toBe(4);
    expect(await index.hitsTotal()).toBe(4);
  });

  it('finds a copy by its original URL, and an HLS entry by its local playlist and parts', async () => {
    const { base } = await serve();
    const byUrl = await get(base, `/u?url=${encodeURIComponent('http://origin.test/v.mp4?x=1')}`);
    expect([byUrl.status, byUrl.body.equals(BODY)]).toEqual([200, true]);
    expect((await get(base, `/u?url=${encodeURIComponent('http://origin.test/other.mp4')}`)).status).toBe(404);
    const hls = await get(base, `/c/${HLS}`);
    expect([hls.status, hls.headers.location]).toEqual([302, `/c/${HLS}/index.m3u8`]);
    const playlist = await get(base, `/c/${HLS}/index.m3u8`);
    expect([playlist.status, playlist.headers['content-type'], playlist.body.toString()]).toEqual([200, 'application/vnd.apple.mpegurl', '#EXTM3U\n#EXTINF:1,\n0000.ts\n#EXT-X-ENDLIST\n']);
    const seg = await get(base, `/c/${HLS}/0000.ts`, { range: 'bytes=188-375' });
    expect([seg.status, seg.body.equals(BODY.subarray(188, 376))]).toEqual([206, true]);
  });

  it('never serves anything outside the store, and says what is wrong with a request', async () => {
    const { base } = await serve();
    for (const path of [`/c/${HLS}/..%2f..%2fsecret.txt`, `/c/${HLS}/%2e%2e`, `/c/${HLS}/..`, `/c/${HLS}/.hidden`, `/c/../secret.txt`, `/c/${VID}/..%2fsecret.txt`, '/c/..%2f..%2fsecret.txt', '/../secret.txt', `/c/${HLS}/%ff`]) {
      const r = await get(base, path);
      expect([400, 403, 404], `${path} → ${r.status}`).toContain(r.status);
      expect(r.body.toString()).not.toContain('outside the store');
      expect(JSON.parse(r.body.toString()).error).toEqual(expect.any(String));
    }
    expect(JSON.parse((await get(base, '/c/nothex')).body.toString()).error).toContain('not a cache id');
    expect((await get(base, `/c/${'d'.repeat(32)}`)).status).toBe(404);
    const post = await get(base, `/c/${VID}`, {}, 'POST');
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect(JSON.parse((await get(base, '/healthz')).body.toString())).toMatchObject({ ok: true, entries: 2 });
  });

  it('serves only media types: an origin that said text/html (or a .html name) gets octet-stream, nosniff and a sandbox', async () => {
    const { base, index } = await serve();
    const store = (await index.get(VID))!.file.replace(/\/[^/]+$/, '');
    const page = 'e'.repeat(32);
    writeFileSync(`${store}/${page}.html`, '<script>alert(1)</script>');
    await index.put({ id: page, url: 'http://evil.test/x.html', kind: 'progressive', file: `${store}/${page}.html`, size: 25, contentType: 'text/html', sha256: 'f'.repeat(64) });
    const r = await get(base, `/c/${page}`);
    expect(r.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff', 'content-security-policy': 'sandbox' });
    const video = await get(base, `/c/${VID}`);
    expect(video.headers).toMatchObject({ 'content-type': 'video/mp4', 'x-content-type-options': 'nosniff' });
    const playlist = await get(base, `/c/${HLS}/index.m3u8`);
    expect(playlist.headers['content-type']).toBe('application/vnd.apple.mpegurl');
  });
});
