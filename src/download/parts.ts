/**
 * HLS and DASH resources are cached as one unit: a folder in the store holding every part under a
 * name computed here (never the network's) and a local playlist that points at them.
 */
import type { CacheEntry } from './cache-index.js';

/** The local playlist of a folder entry. */
export function playlistName(kind: CacheEntry['kind']): string {
  return kind === 'dash' ? 'manifest.mpd' : 'index.m3u8';
}
