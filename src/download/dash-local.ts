/**
 * A DASH Representation made local: its init segment and media segments (or its single file) get
 * names computed here, and the manifest keeps only that Representation, with its segment templates
 * and BaseURLs pointing at the local names. The templates' file names are kept when they are safe
 * (`chunk-$Number%05d$.m4s` → the same name, without its folders), so the origin's timing and
 * numbering stay as written. Pure: the download stage fetches the files.
 */
import { basename } from 'node:path';
import { parseDash } from '../tasks/analyze/dash.js';
import { PlaylistError } from '../tasks/analyze/hls.js';
import type { LocalFile, LocalPlaylist } from './hls-local.js';

const SAFE = /^[A-Za-z0-9_$%-][A-Za-z0-9._$%-]{0,127}$/;

function nameOf(url: string): string {
  const name = basename(new URL(url).pathname);
  if (!SAFE.test(name) || name.includes('$')) throw new PlaylistError(`a part at ${url.slice(0, 200)} has no safe file name`);
  return name;
}

/** Plans the local copy of one Representation (the first when none is named). */
export function localDash(xml: string, url: string, representation?: string, maxFiles = 20_000): LocalPlaylist {
  const reps = parseDash(xml, url, maxFiles);
  const rep = representation === undefined ? reps[0] : reps.find((r) => r.id === representation);
  if (!rep) throw new PlaylistError(`no Representation ${JSON.stringify(representation)} in the manifest`);
  if (/type="dynamic"/.test(xml)) throw new PlaylistError('a live manifest (type="dynamic"): it never ends, so it is not cached');
  if (rep.truncated) throw new PlaylistError(`more than ${maxFiles} segments`);
  const urls = [...(rep.init ? [rep.init] : []), ...(rep.file ? [rep.file] : []), ...rep.segments];
  if (!urls.length) throw new PlaylistError(`Representation ${rep.id} names no file`);
  const files: LocalFile[] = [];
  const seen = new Set<string>();
  for (const u of urls) {
    if (!/^https?:\/\//i.test(u)) throw new PlaylistError(`a part at ${u.slice(0, 200)}: only http and https parts are fetched`);
    const name = nameOf(u);
    if (seen.has(name)) throw new PlaylistError(`two parts would share the local name ${name}`);
    seen.add(name);
    files.push({ url: u, name });
  }
  let text = xml
    // Only the chosen Representation stays (its siblings' files are not cached).
    .replace(/<Representation\b[^>]*?(?:\/>|>[\s\S]*?<\/Representation>)/g, (el) => (new RegExp(`\\bid="${rep.id.replace(/[^\w-]/g, '\\$&')}"`).test(el.slice(0, el.indexOf('>'))) ? el : ''))
    .replace(/<AdaptationSet\b[^>]*>(?:(?!<Representation\b)[\s\S])*?<\/AdaptationSet>/g, '')
    .replace(/<BaseURL>[\s\S]*?<\/BaseURL>/g, '')
    .replace(/\b(media|initialization)="([^"]*)"/g, (_, a: string, v: string) => `${a}="${v.slice(v.lastIndexOf('/') + 1)}"`);
  if (rep.file) text = text.replace(/(<Representation\b[^>]*>)/, `$1<BaseURL>${nameOf(rep.file)}</BaseURL>`);
  return { files, text };
}
