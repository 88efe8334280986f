/**
 * Which video resource an observed request is for, pure: what kind it is (a progressive file, an HLS
 * or DASH playlist, a segment of one, or no video), its normalised URL (volatile query parameters
 * dropped, so the many Range requests and cache-busters of one file are one resource) and a stable id
 * for it (a URL hash: the download's job id, so it is sent once).
 */
import { createHash } from 'node:crypto';
import type { Observation } from '../../capture/observation.js';

export type ResourceKind = 'progressive' | 'hls' | 'dash' | 'segment' | 'none';

const PROGRESSIVE_EXT = new Set(['mp4', 'm4v', 'webm', 'mkv', 'mov', 'flv', 'avi', 'wmv', 'ogv', '3gp']);
const SEGMENT_EXT = new Set(['ts', 'm4s', 'cmfv', 'cmfa', 'aac', 'm4a']);

/** Query parameters that change between requests of one file (byte ranges, cache-busters, sessions). */
export const DEFAULT_VOLATILE_PARAMS = ['range', 'rn', 'rbuf', '_', 'cb', 'cachebust', 'nocache', 'bytestart', 'byteend'];

function extensionOf(url: URL): string {
  const last = url.pathname.split('/').pop() ?? '';
  const dot = last.lastIndexOf('.');
  return dot < 0 ? '' : last.slice(dot + 1).toLowerCase();
}

/** The kind of resource a request is for: by Content-Type when the response was seen, else by extension. */
export function classify(o: Pick<Observation, 'url' | 'response'>): ResourceKind {
  if (!o.url) return 'none';
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    return 'none';
  }
  const type = o.response?.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (/^application\/(vnd\.apple\.mpegurl|x-mpegurl)$/.test(type)) return 'hls';
  if (type === 'application/dash+xml') return 'dash';
  const ext = extensionOf(url);
  if (ext === 'm3u8') return 'hls';
  if (ext === 'mpd') return 'dash';
  if (SEGMENT_EXT.has(ext) || type === 'video/mp2t' || type === 'video/iso.segment') return 'segment';
  if (PROGRESSIVE_EXT.has(ext) || type.startsWith('video/')) return 'progressive';
  return 'none';
}

/** The URL that names the resource: volatile parameters dropped, the rest sorted, no fragment. */
export function resourceUrl(raw: string, volatile: readonly string[] = DEFAULT_VOLATILE_PARAMS): string {
  const url = new URL(raw);
  const drop = new Set(volatile.map((p) => p.toLowerCase()));
  const kept = [...url.searchParams].filter(([k]) => !drop.has(k.toLowerCase())).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  url.search = new URLSearchParams(kept).toString();
  url.hash = '';
  return url.toString();
}

/** A resource's id: the first 32 hex digits of the SHA-256 of its URL. */
export function resourceId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 32);
}

/** The resource's full size when the response told it (Content-Range total, else Content-Length of a 200). */
export function resourceSize(o: Pick<Observation, 'response'>): number | undefined {
  const r = o.response;
  if (!r) return undefined;
  const total = r.contentRange ? /\/(\d{1,15})\s*$/.exec(r.contentRange)?.[1] : undefined;
  if (total !== undefined) return Number(total);
  return r.status === 200 ? r.contentLength : undefined;
}
