/**
 * HLS (and DASH) resources cached as one unit: the playlist is fetched again, planned into local files
 * (download/hls-local.ts), every file downloaded through aria2 into `incoming/<id>/`, each checked
 * against the length aria2 saw, hashed into a SHA256SUMS manifest, and the folder — local playlist
 * included — moved into the store in one rename and indexed. Nothing is indexed until every part is
 * there.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { TaskContext } from '../../core/context.js';
import { UnrecoverableError } from '../../errors.js';
import type { CacheIndex } from '../../download/cache-index.js';
import type { CacheSettings } from '../../download/cache-settings.js';
import { evict } from '../../download/eviction.js';
import { localHls, type LocalPlaylist } from '../../download/hls-local.js';
import { localDash } from '../../download/dash-local.js';
import { playlistName } from '../../download/parts.js';
import { cacheDirs, inside, sha256Of } from '../../download/store.js';
import { PlaylistError } from '../analyze/hls.js';
import { fetchText } from '../analyze/fetch-text.js';
import type { DownloadRequest } from '../analyze/observations.js';
import type { Downloader } from '../../download/downloader.js';
import { downloaderFor, progressReporter } from './node-downloader.js';

/** Parts followed at once (aria2 queues the rest of what it is given; this bounds the status calls). */
const IN_FLIGHT = 8;

/** aria2's gid of one part: 16 hex digits from the resource and the part's URL. */
function partGid(id: string, url: string): string {
  return createHash('sha256').update(`${id} ${url}`).digest('hex').slice(0, 16);
}

async function plan(request: DownloadRequest): Promise<LocalPlaylist> {
  let text: string;
  try {
    text = await fetchText(request.url, { timeoutMs: 10_000, maxBytes: 8 * 1024 * 1024, ...(request.referer ? { referer: request.referer } : {}) });
  } catch (err) {
    throw new Error(`the ${request.kind} playlist was not fetched: ${(err as Error).message}`);
  }
  try {
    return request.kind === 'hls' ? localHls(text, request.url) : localDash(text, request.url, request.representation);
  } catch (err) {
    if (err instanceof PlaylistError) throw new UnrecoverableError(`${request.url}: ${err.message}`);
    throw err;
  }
}

/** Fetches every part of `local` into `folder`, IN_FLIGHT at a time, each checked for its length; their total size. */
async function fetchAll(ctx: TaskContext, d: Downloader, request: DownloadRequest, local: LocalPlaylist, folder: string): Promise<number> {
  const report = progressReporter(ctx);
  const done = new Map<string, number>();
  const running = new Map<string, { completed: number; total: number; speed: number }>();
  const progress = (): void => {
    const bytes = [...done.values(), ...[...running.values()].map((r) => r.completed)].reduce((a, b) => a + b, 0);
    const speed = [...running.values()].reduce((a, r) => a + r.speed, 0);
    report({ parts: local.files.length, partsDone: done.size, bytes, speed });
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < local.files.length) {
      const f = local.files[next++] as (typeof local.files)[number];
      const gid = partGid(request.id, f.url);
      const length = await d.download({ gid, uri: f.url, dir: folder, out: f.name, ...(request.referer ? { referer: request.referer } : {}) }, (p) => {
        running.set(f.name, p);
        progress();
      }, ctx.signal);
      running.delete(f.name);
      const size = statSync(inside(folder, f.name)).size;
      if (size !== length) {
        rmSync(inside(folder, f.name), { force: true });
        throw new Error(`part ${f.name} (${f.url.slice(0, 200)}) has ${size} bytes, expected ${length}: removed, to be fetched again`);
      }
      done.set(f.name, size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, local.files.length) }, worker));
  return [...done.values()].reduce((a, b) => a + b, 0);
}

export async function fetchParts(ctx: TaskContext, request: DownloadRequest & { kind: 'hls' | 'dash' }, settings: CacheSettings, index: CacheIndex): Promise<Record<string, unknown>> {
  const local = await plan(request);
  const dirs = cacheDirs(settings.dir);
  const folder = inside(dirs.incoming, request.id);
  mkdirSync(folder, { recursive: true });
  const d = await downloaderFor(ctx, settings);
  const size = await fetchAll(ctx, d, request, local, folder);
  if (size > settings.maxBytes) {
    rmSync(folder, { recursive: true, force: true });
    throw new UnrecoverableError(`${request.url} has ${size} bytes in ${local.files.length} parts, more than the whole cache may hold (TASKQ_CACHE_MAX_BYTES=${settings.maxBytes})`);
  }
  const sums: string[] = [];
  for (const f of local.files) sums.push(`${await sha256Of(inside(folder, f.name))}  ${f.name}`);
  const manifest = `${sums.join('\n')}\n`;
  writeFileSync(inside(folder, 'SHA256SUMS'), manifest);
  writeFileSync(inside(folder, playlistName(request.kind)), local.text);
  const sha256 = createHash('sha256').update(manifest).digest('hex');
  await evict(index, dirs.store, settings.maxBytes, { room: size });
  const target = inside(dirs.store, request.id);
  rmSync(target, { recursive: true, force: true }); // a folder a crashed attempt moved but never indexed
  renameSync(folder, target);
  const contentType = request.kind === 'hls' ? 'application/vnd.apple.mpegurl' : 'application/dash+xml';
  await index.put({ id: request.id, url: request.url, kind: request.kind, file: target, size, contentType, sha256 });
  return { id: request.id, file: target, size, sha256, parts: local.files.length };
}
