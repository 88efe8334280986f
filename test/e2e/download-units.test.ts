/**
 * Download nodes (real processes, each with its own aria2c) against a local origin: an HLS set cached
 * as one unit and served with its playlist pointing at the local parts; 20 jobs for one resource over
 * two nodes make one download; a node killed -9 mid-download has its job re-delivered and the file
 * continued, one copy in the store.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp, type App } from '../../src/core/app.js';
import { startOrigin, type OriginFile } from '../../src/demo/origin.js';
import { CacheIndex } from '../../src/download/cache-index.js';
import { listenCacheServer } from '../../src/download/cache-server.js';
import { resourceId } from '../../src/tasks/analyze/resource.js';
import { uniquePrefix } from '../helpers/apps.js';
import { root, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + (i >> 9)) % 256));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const SEGMENTS = [0, 1, 2, 3].map((i) => bytes(188 * 500 + i, 7 + i));
const FILES: Record<string, OriginFile> = {
  '/vod/movie.mp4': { body: bytes(2_500_000, 11), type: 'video/mp4' },
  '/vod/slow.mp4': { body: bytes(3_000_000, 13), type: 'video/mp4' },
  '/hls/index.m3u8': {
    body: Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:4\n${SEGMENTS.map((_, i) => `#EXTINF:4.0,\n${i % 2 ? `/hls/seg${i}.ts?token=x` : `seg${i}.ts`}\n`).join('')}#EXT-X-ENDLIST\n`),
    type: 'application/vnd.apple.mpegurl',
  },
  ...Object.fromEntries(SEGMENTS.map((b, i) => [`/hls/seg${i}.ts`, { body: b, type: 'video/mp2t' }])),
};

async function pipeline(extraEnv: NodeJS.ProcessEnv = {}) {
  const origin = await startOrigin({ files: FILES });
  onTestFinished(() => origin.close());
  const cache = `${mkdtempSync(`${tmpdir()}/taskq-units-`)}/cache`;
  const prefix = uniquePrefix();
  const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix, TASKQ_CACHE_DIR: cache, ...extraEnv };
  const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
  onTestFinished(() => app.close());
  const node = (name: string) => spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-c', '4', '-n', `${name}@box`], { env });
  const fetch1 = (app2: App, url: string, kind: 'progressive' | 'hls', size?: number) =>
    app2.send('download.fetch', [{ id: resourceId(url), url, kind, ...(size ? { size } : {}), seenAt: Date.now() }], {}, { queue: 'q_download' });
  return { origin, cache, app, env, node, fetch: (url: string, kind: 'progressive' | 'hls' = 'progressive', size?: number) => fetch1(app, url, kind, size) };
}

describe('download nodes', () => {
  it('cache an HLS set as one unit, served with its playlist pointing at the local parts; 20 jobs for one file over two nodes make one download', async () => {
    const { origin, cache, app, node, fetch } = await pipeline();
    await Promise.all([node('dl1'), node('dl2')]);

    const movie = `${origin.url}/vod/movie.mp4`;
    const results = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(movie, 'progressive', FILES['/vod/movie.mp4']?.body.length)).get({ timeout: 30_000 })));
    const fetched = results.filter((r) => (r as { sha256?: string }).sha256);
    expect(fetched).toEqual([expect.objectContaining({ sha256: sha(FILES['/vod/movie.mp4']!.body) })]);
    expect(results.filter((r) => (r as { cached?: boolean }).cached)).toHaveLength(19);
    expect(origin.requests.filter((r) => r.path === '/vod/movie.mp4' && r.method === 'GET')).toHaveLength(1);

    const playlist = `${origin.url}/hls/index.m3u8`;
    const hls = (await (await fetch(playlist, 'hls')).get({ timeout: 30_000 })) as { id: string; parts: number; size: number };
    expect(hls).toMatchObject({ id: resourceId(playlist), parts: 4, size: SEGMENTS.reduce((a, b) => a + b.length, 0) });
    expect(readdirSync(`${cache}/store/${hls.id}`).sort()).toEqual(['SHA256SUMS', 'index.m3u8', 's00000.ts', 's00001.ts', 's00002.ts', 's00003.ts']);
    expect(readdirSync(`${cache}/incoming`).filter((f) => !f.endsWith('.aria2'))).toEqual([]);

    const server = await listenCacheServer({ index: new CacheIndex(await app.client(), app.keys.prefix), storeDir: `${cache}/store`, host: '127.0.0.1', port: 0 });
    onTestFinished(() => server.close());
    const local = await globalThis.fetch(`${server.url}/u?url=${encodeURIComponent(playlist)}`);
    expect(local.url).toBe(`${server.url}/c/${hls.id}/index.m3u8`);
    const text = await local.text();
    const uris = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(uris).toEqual(['s00000.ts', 's00001.ts', 's00002.ts', 's00003.ts']);
    expect(text).toContain('#EXTINF:4.0,');
    for (const [i, uri] of uris.entries()) {
      const part = Buffer.from(await (await globalThis.fetch(new URL(uri, local.url))).arrayBuffer());
      expect(sha(part), uri).toBe(sha(SEGMENTS[i]!));
    }
  });

  it('a download node killed -9 mid-download: its job is re-delivered, the file continued by another node, one copy', async () => {
    const { origin, cache, node, fetch } = await pipeline({ TASKQ_STALL_INTERVAL_MS: '1000', TASKQ_DOWNLOAD_LEASE_MS: '2000' });
    origin.setRate(400_000);
    const first = await node('dl1');
    const slow = `${origin.url}/vod/slow.mp4`;
    const job = await fetch(slow, 'progressive', 3_000_000);
    await waitFor('a quarter of the file', async () => ((await job.progress()) as { bytes?: number } | undefined)?.bytes ?? 0, (n) => n > 750_000, { timeoutMs: 15_000 });
    first.signal('SIGKILL');
    await first.exited;
    origin.setRate(undefined);
    await node('dl2');
    const result = (await job.get({ timeout: 40_000 })) as { sha256: string; file: string };
    expect(result.sha256).toBe(sha(FILES['/vod/slow.mp4']!.body));
    expect(readdirSync(`${cache}/store`)).toEqual([`${resourceId(slow)}.mp4`]);
    // The second node went on from where the first stopped (its control file), not from zero.
    const resumedAt = origin.requests.filter((r) => r.path === '/vod/slow.mp4').map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? 0));
    expect(Math.max(...resumedAt)).toBeGreaterThan(300_000);
    expect((await job.info())?.node).toBe('dl2@box');
  });

  it('a full cache evicts the least recently served; a file bigger than the cache, or not the size announced, is refused and nothing is indexed', async () => {
    const { origin, cache, app, node, fetch } = await pipeline({ TASKQ_CACHE_MAX_BYTES: '4M' });
    await node('dl1');
    const index = new CacheIndex(await app.client(), app.keys.prefix);
    const movie = `${origin.url}/vod/movie.mp4`; // 2.5 MB
    const slow = `${origin.url}/vod/slow.mp4`; // 3 MB
    await (await fetch(movie, 'progressive', 2_500_000)).get({ timeout: 30_000 });
    await (await fetch(slow, 'progressive', 3_000_000)).get({ timeout: 30_000 });
    // Both do not fit in 4 MB: the first, served least recently, made room for the second.
    expect((await index.list()).map((e) => e.url)).toEqual([slow]);
    expect(readdirSync(`${cache}/store`)).toEqual([`${resourceId(slow)}.mp4`]);

    const big = await (await app.send('download.fetch', [{ id: resourceId(`${movie}?big`), url: `${movie}?big`, kind: 'progressive', size: 5_000_000, seenAt: Date.now() }], {}, { queue: 'q_download' })).get({ timeout: 30_000, propagate: false });
    expect((big as Error).message).toContain('has 5000000 bytes, more than the whole cache may hold (TASKQ_CACHE_MAX_BYTES=4194304)');

    // The wire said one size, the origin sends another (a truncated or changed file): removed, retried, never indexed.
    const wrong = await (await app.send('download.fetch', [{ id: resourceId(`${movie}?wrong`), url: `${movie}?wrong`, kind: 'progressive', size: 2_400_000, seenAt: Date.now() }], {}, { queue: 'q_download', retries: 1, backoff: 100 })).get({ timeout: 30_000, propagate: false });
    expect((wrong as Error).message).toMatch(/has 2500000 bytes, expected 2400000: removed, to be fetched again/);
    expect(origin.requests.filter((r) => r.path === '/vod/movie.mp4' && r.method === 'GET' && !r.range).length).toBeGreaterThanOrEqual(3); // first fetch + 2 attempts
    expect(await index.has(resourceId(`${movie}?wrong`))).toBe(false);
    // (Room for its announced 2.4 MB was made first: the older entry went.)
    expect(readdirSync(`${cache}/store`)).toEqual([]);
    expect(await index.totalBytes()).toBe(0);
    expect(readdirSync(`${cache}/incoming`).filter((f) => !f.endsWith('.aria2'))).toEqual([]);
  });
});
