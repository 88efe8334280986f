/**
 * An HLS media playlist made local: every URI in it (segments, the init segment of EXT-X-MAP, the keys
 * of EXT-X-KEY) gets a file name computed here, and the playlist is rewritten to point at those names,
 * tags and timing kept as the origin wrote them. Byte ranges of one file share its local copy, so
 * EXT-X-BYTERANGE keeps working. Pure: the download stage fetches the files.
 */
import { extname } from 'node:path';
import { attributes, parseHls, PlaylistError } from '../tasks/analyze/hls.js';

export interface LocalFile {
  url: string;
  /** A bare name: `s00012.ts`, `init.mp4`, `key0.key`. */
  name: string;
}

export interface LocalPlaylist {
  files: LocalFile[];
  /** The playlist with local names for every URI. */
  text: string;
}

function ext(url: string, fallback: string): string {
  const e = extname(new URL(url).pathname).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(e) ? e : fallback;
}

/** Plans the local copy of a VOD media playlist; refuses master and live playlists with the reason. */
export function localHls(text: string, base: string, maxFiles = 20_000): LocalPlaylist {
  const parsed = parseHls(text, base, maxFiles);
  if (parsed.kind === 'master') throw new PlaylistError('a master playlist: each of its media playlists is cached on its own');
  if (parsed.live) throw new PlaylistError('a live playlist (no #EXT-X-ENDLIST): it never ends, so it is not cached');
  if (parsed.truncated) throw new PlaylistError(`more than ${maxFiles} segments`);
  const names = new Map<string, string>();
  const files: LocalFile[] = [];
  const local = (uri: string, kind: 'segment' | 'init' | 'key'): string => {
    const url = new URL(uri, base).toString();
    if (!/^https?:\/\//i.test(url)) throw new PlaylistError(`a ${kind} at ${url.slice(0, 200)}: only http and https parts are fetched`);
    let name = names.get(url);
    if (!name) {
      const n = files.filter((f) => f.name.startsWith(kind[0] as string)).length;
      name = kind === 'segment' ? `s${String(n).padStart(5, '0')}${ext(url, '.ts')}` : kind === 'init' ? `init${n || ''}${ext(url, '.mp4')}` : `key${n}.key`;
      names.set(url, name);
      files.push({ url, name });
    }
    return name;
  };
  const withUri = (line: string, tag: string, kind: 'init' | 'key'): string => {
    const a = attributes(line.slice(tag.length));
    if (!a.URI || (kind === 'key' && a.METHOD === 'NONE')) return line;
    return line.replace(/URI="[^"]*"/, `URI="${local(a.URI, kind)}"`);
  };
  const out = text.split(/\r?\n/).map((raw) => {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MAP:')) return withUri(line, '#EXT-X-MAP:', 'init');
    if (line.startsWith('#EXT-X-KEY:')) return withUri(line, '#EXT-X-KEY:', 'key');
    if (line && !line.startsWith('#')) return local(line, 'segment');
    return line;
  });
  return { files, text: out.join('\n') };
}
