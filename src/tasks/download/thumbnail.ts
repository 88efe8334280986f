/**
 * `download.thumbnail` (q_download): sent by download.fetch once an entry is cached; makes its
 * thumbnail (download/thumbnail.ts) and marks the entry. Its own task, so a video ffmpeg cannot read
 * fails here, with the reason, and never fails the download.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { App } from '../../core/app.js';
import type { TaskContext } from '../../core/context.js';
import { UnrecoverableError } from '../../errors.js';
import { CacheIndex, type CacheEntry } from '../../download/cache-index.js';
import { cacheSettings } from '../../download/cache-settings.js';
import { playlistName } from '../../download/parts.js';
import { cacheDirs, inside } from '../../download/store.js';
import { makeThumbnail, thumbsDir, ThumbnailError } from '../../download/thumbnail.js';

/** What ffmpeg reads: the file, or a folder's init segment and first media segment joined. */
function videoInput(entry: CacheEntry, storeDir: string): string {
  const stored = inside(storeDir, basename(entry.file));
  if (entry.kind === 'progressive') return stored;
  const text = readFileSync(inside(stored, playlistName(entry.kind)), 'utf8');
  const parts = [...text.matchAll(entry.kind === 'hls' ? /^(s\d{5}\.\w+)$/gm : /(?:media|sourceURL)="([^"$]+)"/g)].map((m) => m[1] as string);
  const first = parts[0] ?? (entry.kind === 'dash' ? /<BaseURL>([^<]+)<\/BaseURL>/.exec(text)?.[1] : undefined);
  if (!first) throw new UnrecoverableError(`${entry.id}: no media segment in its local playlist`);
  const init = /(?:URI|initialization)="(init[^"]*)"/.exec(text)?.[1];
  const files = [...(init && existsSync(inside(stored, init)) ? [init] : []), first].map((f) => inside(stored, f));
  return files.length > 1 ? `concat:${files.join('|')}` : (files[0] as string);
}

export function registerThumbnail(app: App): void {
  app.task(
    'download.thumbnail',
    async (ctx: TaskContext, id: string) => {
      const settings = cacheSettings();
      const index = new CacheIndex(await app.client(), app.keys.prefix);
      const entry = await index.get(String(id));
      if (!entry) return { id, skipped: 'not cached (any more)' };
      try {
        const file = await makeThumbnail(videoInput(entry, cacheDirs(settings.dir).store), thumbsDir(settings.dir), entry.id, { signal: ctx.signal });
        await index.setThumbnail(entry.id);
        return { id: entry.id, thumbnail: file };
      } catch (err) {
        if (err instanceof ThumbnailError) throw new UnrecoverableError(`no thumbnail for ${entry.url.slice(0, 200)}: ${err.message}`);
        throw err;
      }
    },
    { bind: true, retries: 1 },
  );
}
