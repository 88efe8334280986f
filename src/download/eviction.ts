/**
 * Removing cached entries: from the index first (the server stops finding them), then the file or
 * folder, only ever inside the store. Eviction removes the least recently used entries until the cache
 * is within its limit (or within it with room for a download about to arrive).
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CacheEntry, CacheIndex } from './cache-index.js';
import { inside } from './store.js';

export interface Evicted {
  removed: Array<{ id: string; url: string; size: number }>;
  freed: number;
  /** The cache's size after. */
  bytes: number;
}

/** Removes one entry and its file. False when it was not indexed (nothing is deleted then). */
export async function removeEntry(index: CacheIndex, storeDir: string, entry: CacheEntry): Promise<boolean> {
  const size = await index.remove(entry.id);
  if (size === undefined) return false;
  // The path comes from the index; only its last part is trusted, and only inside the store.
  await rm(inside(storeDir, basename(entry.file)), { recursive: true, force: true });
  await rm(inside(join(dirname(storeDir), 'thumbs'), `${entry.id}.jpg`), { force: true });
  return true;
}

/**
 * Evicts the least recently used entries until `bytes in the cache + room ≤ maxBytes`. Entries in
 * `keep` (e.g. the one being served) are passed over.
 */
export async function evict(index: CacheIndex, storeDir: string, maxBytes: number, options: { room?: number; keep?: ReadonlySet<string> } = {}): Promise<Evicted> {
  const out: Evicted = { removed: [], freed: 0, bytes: await index.totalBytes() };
  const room = options.room ?? 0;
  while (out.bytes + room > maxBytes) {
    const oldest = (await index.list({ oldest: true, limit: 50 })).filter((e) => !options.keep?.has(e.id));
    const before = out.freed;
    if (!oldest.length) break;
    for (const e of oldest) {
      if (out.bytes + room <= maxBytes) break;
      if (await removeEntry(index, storeDir, e)) {
        out.removed.push({ id: e.id, url: e.url, size: e.size });
        out.freed += e.size;
      }
      out.bytes = await index.totalBytes();
    }
    if (out.freed === before && out.bytes + room > maxBytes) break; // nothing left that may go
  }
  return out;
}
