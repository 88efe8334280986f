/**
 * The local cache on disk and its index in Redis. Files live in `<cacheDir>/store/<id><ext>`, where
 * `id` is the resource id (a URL hash) and `ext` a short extension from the URL, or `.bin`: names
 * are computed here, never taken from the network, so no file is ever written outside the cache.
 * aria2 writes into `<cacheDir>/incoming`; a verified download is moved into the store atomically.
 *   <prefix>:cache:<id>   HASH url, file, size, contentType, sha256, hits, lastAccess, cachedAt
 *   <prefix>:cache:index  ZSET id by last access (ms): LRU eviction reads it
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join, resolve, sep } from 'node:path';

/** Resource ids are 32 hex digits (tasks/analyze/resource.ts). */
const ID = /^[0-9a-f]{32}$/;

export interface CacheDirs {
  incoming: string;
  store: string;
}

export function cacheDirs(cacheDir: string): CacheDirs {
  const root = resolve(cacheDir);
  return { incoming: join(root, 'incoming'), store: join(root, 'store') };
}

/** The file name of a resource: its id and a safe extension from the URL's path. */
export function fileNameOf(id: string, url: string): string {
  if (!ID.test(id)) throw new Error(`not a resource id: ${JSON.stringify(id)}`);
  let ext = '.bin';
  try {
    const last = new URL(url).pathname.split('/').pop() ?? '';
    const m = /\.([a-z0-9]{1,5})$/i.exec(last);
    if (m) ext = `.${(m[1] as string).toLowerCase()}`;
  } catch {
    /* a URL that does not parse gets .bin */
  }
  return `${id}${ext}`;
}

/** `dir/name`, refusing anything that would leave `dir` (belt and braces: names are computed). */
export function inside(dir: string, name: string): string {
  const path = resolve(dir, name);
  if (!path.startsWith(resolve(dir) + sep) || name.includes('/') || name.includes('\\')) throw new Error(`refusing a path outside ${dir}: ${name}`);
  return path;
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
