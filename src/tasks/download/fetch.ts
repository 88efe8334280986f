/**
 * `download.fetch` (q_download): fetches one resource through the node's aria2c into the cache,
 * verifies it (size, sha256), moves it into the store and indexes it. Idempotent: aria2's gid is
 * derived from the resource id, so a second job (or a re-delivery after a crash) finds the same
 * download instead of starting another; a resource already cached is a no-op. Progressive files only
 * for now: an HLS or DASH resource fails for good with that reason (it stays in the dead letters, to
 * be retried with `taskq dead retry` once segment downloads land).
 */
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../../core/app.js';
import type { TaskContext } from '../../core/context.js';
import { UnrecoverableError } from '../../errors.js';
import { Aria2Client } from '../../download/aria2-client.js';
import { Aria2Daemon } from '../../download/aria2-daemon.js';
import { cacheDirs, fileNameOf, inside, sha256Of } from '../../download/store.js';
import { CacheIndex } from '../../download/cache-index.js';
import { cacheSettings } from '../../download/cache-settings.js';
import { evict } from '../../download/eviction.js';
import type { DownloadRequest } from '../analyze/observations.js';

/** The cache folder: TASKQ_CACHE_DIR, else .state/cache under the working directory. */
export function cacheDir(): string {
  return cacheSettings().dir;
}

let aria2: Promise<{ client: Aria2Client; daemon: Aria2Daemon }> | undefined;

/** This process's aria2c, started on first use and stopped when the process exits. */
function ensureAria2(): Promise<{ client: Aria2Client; daemon: Aria2Daemon }> {
  aria2 ??= (async () => {
    const dirs = cacheDirs(cacheDir());
    const daemon = new Aria2Daemon({ stateDir: join(cacheDir(), '..', 'aria2'), downloadDir: dirs.incoming });
    const conn = await daemon.start();
    // An exit handler cannot wait: TERM it (aria2c saves its session on TERM).
    process.once('exit', () => daemon.signalStop());
    const client = new Aria2Client(conn);
    await client.open();
    return { client, daemon };
  })().catch((err: unknown) => {
    aria2 = undefined;
    throw err;
  });
  return aria2;
}

async function waitForDownload(client: Aria2Client, gid: string, ctx: TaskContext): Promise<{ totalLength: number }> {
  for (;;) {
    const s = await client.tellStatus(gid, ['status', 'totalLength', 'completedLength', 'downloadSpeed', 'errorMessage', 'errorCode']);
    if (s.status === 'complete') return { totalLength: Number(s.totalLength) };
    if (s.status === 'error' || s.status === 'removed') throw new Error(`aria2 download ${gid} ${s.status}: ${s.errorMessage ?? ''} (code ${s.errorCode ?? '?'})`);
    await ctx.progress({ completed: Number(s.completedLength), total: Number(s.totalLength), speed: Number(s.downloadSpeed) }).catch(() => undefined);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function registerDownload(app: App): void {
  app.task(
    'download.fetch',
    async (ctx: TaskContext, request: DownloadRequest) => {
      if (request?.kind !== 'progressive') throw new UnrecoverableError(`${request?.kind} downloads (segments as one unit) are not implemented yet; this job waits in the dead letters`);
      const settings = cacheSettings();
      const index = new CacheIndex(await app.client(), app.keys.prefix);
      if (await index.has(request.id)) return { id: request.id, cached: true };
      const tooBig = (size: number): UnrecoverableError => new UnrecoverableError(`${request.url} has ${size} bytes, more than the whole cache may hold (TASKQ_CACHE_MAX_BYTES=${settings.maxBytes})`);
      if (request.size !== undefined && request.size > settings.maxBytes) throw tooBig(request.size);
      const dirs = cacheDirs(settings.dir);
      await evict(index, dirs.store, settings.maxBytes, { room: request.size ?? 0 });
      mkdirSync(dirs.store, { recursive: true });
      const name = fileNameOf(request.id, request.url);
      const { client } = await ensureAria2();
      const gid = request.id.slice(0, 16);
      // Only options computed here reach aria2: the folder, a bare file name, the gid.
      await client.addUri([request.url], { dir: dirs.incoming, out: name, gid, 'allow-overwrite': 'true' }).catch((err: Error) => {
        if (!/not unique|already/i.test(err.message)) throw err; // already added: follow that download
      });
      const { totalLength } = await waitForDownload(client, gid, ctx);
      const tmp = inside(dirs.incoming, name);
      const size = statSync(tmp).size;
      if (size !== totalLength || (request.size !== undefined && size !== request.size)) throw new Error(`download of ${request.url} has ${size} bytes, expected ${request.size ?? totalLength}`);
      if (size > settings.maxBytes) {
        rmSync(tmp, { force: true });
        throw tooBig(size);
      }
      const sha256 = await sha256Of(tmp);
      const file = inside(dirs.store, name);
      await evict(index, dirs.store, settings.maxBytes, { room: size });
      renameSync(tmp, file);
      await client.removeDownloadResult(gid).catch(() => undefined);
      await index.put({ id: request.id, url: request.url, kind: 'progressive', file, size, contentType: request.contentType ?? '', sha256 });
      return { id: request.id, file, size, sha256 };
    },
    { bind: true, retries: 3, backoff: { type: 'exponential', delayMs: 2000, maxMs: 60_000 } },
  );
}
