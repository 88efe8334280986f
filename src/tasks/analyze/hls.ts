/**
 * HLS playlists (RFC 8216), pure: a master playlist's variants and renditions, or a media playlist's
 * segments — each URI resolved against the playlist's URL, with `EXT-X-BYTERANGE` (ranges of one file,
 * an omitted offset following on from the previous range), `EXT-X-MAP` init segments and `EXT-X-KEY`
 * key URIs; VOD (`EXT-X-ENDLIST`) or live. Bounded: at most `maxSegments` segments are listed.
 */

export interface ByteRange {
  length: number;
  offset: number;
}

export interface HlsSegment {
  url: string;
  durationS: number;
  byteRange?: ByteRange;
}

export type HlsPlaylist =
  | { kind: 'master'; variants: Array<{ url: string; bandwidth?: number; resolution?: string }>; renditions: string[] }
  | { kind: 'media'; segments: HlsSegment[]; init?: { url: string; byteRange?: ByteRange }; keys: string[]; live: boolean; truncated: boolean };

export class PlaylistError extends Error {}

/** `KEY=value,KEY="quoted, value"` attribute lists. */
export function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
  return out;
}

function byteRange(text: string, previousEnd: number | undefined): ByteRange | undefined {
  const m = /^(\d{1,15})(?:@(\d{1,15}))?$/.exec(text.trim());
  if (!m) return undefined;
  const offset = m[2] !== undefined ? Number(m[2]) : previousEnd;
  return offset === undefined ? undefined : { length: Number(m[1]), offset };
}

export function parseHls(text: string, base: string, maxSegments = 20_000): HlsPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0]?.replace(/^\uFEFF/, '') !== '#EXTM3U') throw new PlaylistError('not an HLS playlist (no #EXTM3U on its first line)');
  const resolve = (uri: string): string => new URL(uri, base).toString();
  if (lines.some((l) => l.startsWith('#EXT-X-STREAM-INF'))) {
    const variants: Array<{ url: string; bandwidth?: number; resolution?: string }> = [];
    const renditions: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i] as string;
      if (l.startsWith('#EXT-X-STREAM-INF:')) {
        const a = attributes(l.slice(18));
        const uri = lines.slice(i + 1).find((x) => x && !x.startsWith('#'));
        if (uri) variants.push({ url: resolve(uri), ...(a.BANDWIDTH ? { bandwidth: Number(a.BANDWIDTH) } : {}), ...(a.RESOLUTION ? { resolution: a.RESOLUTION } : {}) });
      } else if (l.startsWith('#EXT-X-MEDIA:')) {
        const a = attributes(l.slice(13));
        if (a.URI) renditions.push(resolve(a.URI));
      }
    }
    return { kind: 'master', variants, renditions };
  }
  const segments: HlsSegment[] = [];
  const keys: string[] = [];
  let init: { url: string; byteRange?: ByteRange } | undefined;
  let duration = 0;
  let range: ByteRange | undefined;
  let rangeEnd: number | undefined;
  let truncated = false;
  for (const l of lines) {
    if (l.startsWith('#EXTINF:')) duration = Number.parseFloat(l.slice(8)) || 0;
    else if (l.startsWith('#EXT-X-BYTERANGE:')) range = byteRange(l.slice(17), rangeEnd);
    else if (l.startsWith('#EXT-X-MAP:')) {
      const a = attributes(l.slice(11));
      const r = a.BYTERANGE ? byteRange(a.BYTERANGE, 0) : undefined;
      if (a.URI) init = { url: resolve(a.URI), ...(r ? { byteRange: r } : {}) };
    } else if (l.startsWith('#EXT-X-KEY:')) {
      const a = attributes(l.slice(11));
      if (a.URI && a.METHOD !== 'NONE') keys.push(resolve(a.URI));
    } else if (l && !l.startsWith('#')) {
      if (segments.length >= maxSegments) {
        truncated = true;
        continue;
      }
      segments.push({ url: resolve(l), durationS: duration, ...(range ? { byteRange: range } : {}) });
      rangeEnd = range ? range.offset + range.length : undefined;
      range = undefined;
      duration = 0;
    }
  }
  return { kind: 'media', segments, ...(init ? { init } : {}), keys, live: !lines.includes('#EXT-X-ENDLIST'), truncated };
}
