/** Human output of `taskq cache`. */
import type { CacheEntry } from '../download/cache-index.js';
import { table } from './presenter.js';

/** 1536 → '1.5 KiB'. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function cacheListText(entries: CacheEntry[], totals: { count: number; bytes: number; maxBytes: number }): string {
  const rows = entries.map((e) => [e.id, e.kind, bytesText(e.size), e.hits, new Date(e.lastAccess).toISOString().replace(/\.\d+Z$/, 'Z'), e.sha256.slice(0, 12), e.url]);
  const head = entries.length ? table(['ID', 'KIND', 'SIZE', 'HITS', 'LAST ACCESS', 'SHA256', 'URL'], rows) : 'the cache is empty\n';
  const shown = entries.length < totals.count ? ` (${entries.length} shown)` : '';
  return `${head}${totals.count} ${totals.count === 1 ? 'entry' : 'entries'}${shown}, ${bytesText(totals.bytes)} of ${bytesText(totals.maxBytes)}\n`;
}
