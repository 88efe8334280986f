/**
 * `download.fetch` (q_download): fetches one resource through aria2 into the cache, verifies it (size,
 * sha256), moves it into the store and indexes it. Idempotent three ways: a resource already cached is
 * a no-op; one lease per resource across nodes (download/resource-lock.ts) lets a single node download
 * it while others wait for the entry; aria2's gid comes from the resource id, so a re-delivery follows
 * or continues the same download and file. HLS and DASH resources download their parts as one unit
 * (tasks/download/parts.ts).
 */
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import type { App } from '../../core/app.js';
import type { TaskContext } from '../../core/context.js';
import { defaults } from '../../defaults.js';
import { UnrecoverableError } from '../../errors.js';
import { CacheIndex } from '../../download/cache-index.js';
import { cacheSettings, type CacheSettings } from '../../download/cache-settings.js';
import { evict } from '../../download/eviction.js';
import { acquireResource } from '../../download/resource-lock.js';
import { cacheDirs, fileNameOf, inside, sha256Of } from '../../download/store.js';
import type { DownloadRequest } from '../analyze/observations.js';
import { fetchParts } from './parts.js';
import { downloaderFor, progressReporter } from './node-downloader.js';

async function fetchProgressive(ctx: TaskContext, request: DownloadRequest, href: string, settings: CacheSettings, index: CacheIndex): Promise<Record<string, unknown>> {
  const dirs = cacheDirs(settings.dir);
  const name = fileNameOf(request.id, request.url);
  const d = await downloaderFor(ctx, settings);
  const report = progressReporter(ctx);
  const total = await d.download(
    { gid: request.id.slice(0, 16), uri: href, dir: dirs.incoming, out: name, ...(request.referer ? { referer: request.referer } : {}) },
    (p) => report({ bytes: p.completed, total: p.total, speed: p.speed, ...(p.eta !== undefined ? { eta: p.eta } : {}) }),
    ctx.signal,
  );
  const tmp = inside(dirs.incoming, name);
  const size = statSync(tmp).size;
  if (size !== total || (request.size !== undefined && size !== request.size)) {
    rmSync(tmp, { force: true });
    throw new Error(`download of ${request.url} has ${size} bytes, expected ${request.size ?? total}: removed, to be fetched again`);
  }
  if (size > settings.maxBytes) {
    rmSync(tmp, { force: true });
    throw tooBig(request.url, size, settings);
  }
  const sha256 = await sha256Of(tmp);
  const file = inside(dirs.store, name);
  await evict(index, dirs.store, settings.maxBytes, { room: size });
  renameSync(tmp, file);
  await index.put({ id: request.id, url: request.url, kind: 'progressive', file, size, contentType: request.contentType ?? '', sha256 });
  return { id: request.id, file, size, sha256 };
}

/**
 * Only http(s) URLs of a sane length reach aria2, and only as the URL parser writes them back: no
 * raw newline or tab (aria2's session file is line-based: a newline would smuggle options into it).
 */
function refuseUrl(url: string): string {
  if (url.length > defaults.downloadMaxUrl) throw new UnrecoverableError(`a URL of ${url.length} characters (at most ${defaults.downloadMaxUrl}): not downloaded`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnrecoverableError(`not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UnrecoverableError(`${parsed.protocol} URLs are not downloaded (http and https only): ${url.slice(0, 200)}`);
  if (parsed.username || parsed.password) throw new UnrecoverableError(`a URL with credentials is not downloaded: ${parsed.host}`);
  return parsed.href;
}

function tooBig(url: string, size: number, settings: CacheSettings): UnrecoverableError {
  return new UnrecoverableError(`${url} has ${size} bytes, more than the whole cache may hold (TASKQ_CACHE_MAX_BYTES=${settings.maxBytes})`);
}

export function registerDownload(app: App): void {
  app.task(
    'download.fetch',
    async (ctx: TaskContext, request: DownloadRequest) => {
      if (!request || typeof request.id !== 'string' || typeof request.url !== 'string' || !['progressive', 'hls', 'dash'].includes(request.kind)) {
        throw new UnrecoverableError(`download.fetch takes one resource {id, url, kind: progressive|hls|dash, …} (as analyze sends it); got ${JSON.stringify(request)?.slice(0, 200)}`);
      }
      fileNameOf(request.id, request.url); // a resource id, or a clear refusal
      const href = refuseUrl(request.url);
      const settings = cacheSettings();
      const redis = await app.client();
      const index = new CacheIndex(redis, app.keys.prefix);
      if (await index.has(request.id)) return { id: request.id, cached: true };
      if (request.size !== undefined && request.size > settings.maxBytes) throw tooBig(request.url, request.size, settings);
      const dirs = cacheDirs(settings.dir);
      mkdirSync(dirs.store, { recursive: true });
      mkdirSync(dirs.incoming, { recursive: true });
      const lease = await acquireResource(redis, `${app.keys.prefix}:cache:lock:${request.id}`, `${ctx.node}:${ctx.id}`, { ttlMs: settings.leaseMs, signal: ctx.signal, done: () => index.has(request.id) });
      if (!lease) return { id: request.id, cached: true };
      try {
        if (await index.has(request.id)) return { id: request.id, cached: true };
        await evict(index, dirs.store, settings.maxBytes, { room: request.size ?? 0 });
        const result = request.kind === 'progressive' ? await fetchProgressive(ctx, request, href, settings, index) : await fetchParts(ctx, request as DownloadRequest & { kind: 'hls' | 'dash' }, settings, index);
        // The thumbnail is its own task: ffmpeg failing on this video never fails its download.
        if (request.kind !== 'progressive' || /^video\//.test(request.contentType ?? 'video/')) {
          await app.send('download.thumbnail', [request.id]).catch((err: Error) => ctx.log.warn({ err: err.message }, 'thumbnail not sent'));
        }
        return result;
      } finally {
        await lease.release();
      }
    },
    { bind: true, retries: 5, backoff: { type: 'exponential', delayMs: 2000, maxMs: 60_000 } },
  );
}
