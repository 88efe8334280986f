/**
 * The cache server: serves cached copies over HTTP, with Range, conditional requests (ETag is the
 * sha256), HEAD and the Content-Type the origin sent. Files are streamed by `send` (Express's static
 * file sender). Binds 127.0.0.1 unless told otherwise.
 *   GET /c/<id>            the file; an HLS or DASH entry redirects to its local playlist
 *   GET /c/<id>/<name>     a part of an HLS or DASH entry (its playlist, segments, init segment)
 *   GET /u?url=<url>       the copy of that URL, as /c/<id>
 *   GET /t/<id>.jpg        its thumbnail, once made
 *   GET /healthz           200 ok
 * Paths come from the index but only their last part is used, and only inside the store.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import send from 'send';
import type { CacheEntry, CacheIndex } from './cache-index.js';
import { playlistName } from './parts.js';
import { inside } from './store.js';
import { listenError } from '../errors.js';

export interface CacheServerOptions {
  index: CacheIndex;
  storeDir: string;
}

const ID = /^[0-9a-f]{32}$/;
const READ_CHUNK = 1024 * 1024;
const PART = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** A request for the whole file or its start counts as a hit (a player's later ranges do not). */
function isHit(req: IncomingMessage): boolean {
  const range = req.headers.range;
  return req.method === 'GET' && (range === undefined || /^bytes=0-/.test(range));
}

/** Types the cache serves as they are; anything else (an origin's text/html, say) goes out as bytes. */
const MEDIA = /^(?:video\/|audio\/|image\/jpeg$|application\/(?:vnd\.apple\.mpegurl|x-mpegurl|dash\+xml|mp4|octet-stream)$)/i;
const BY_EXTENSION: Record<string, string> = { m3u8: 'application/vnd.apple.mpegurl', mpd: 'application/dash+xml', ts: 'video/mp2t', m4s: 'video/iso.segment', mp4: 'video/mp4', m4v: 'video/mp4', m4a: 'audio/mp4', webm: 'video/webm', jpg: 'image/jpeg' };

/** The Content-Type to send: the one given if it is media, else by the file's extension if that is, else octet-stream. */
function mediaType(given: string | undefined, path: string): string {
  const type = (given ?? '').split(';')[0]?.trim() ?? '';
  if (MEDIA.test(type)) return type;
  const byName = BY_EXTENSION[path.split('.').pop()?.toLowerCase() ?? ''];
  return !type && byName ? byName : 'application/octet-stream';
}

function serveFile(req: IncomingMessage, res: ServerResponse, path: string, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) if (v) res.setHeader(k, v);
  // Whatever the network said, a cached file is never a page that runs here.
  res.setHeader('content-type', mediaType(headers['content-type'], path));
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-security-policy', 'sandbox');
  // `root` is the file's folder: send's dot-file rule then reads only the file's own name, not the
  // folders above it (npm start's cache lives under .state/).
  const sender = send(req, `/${basename(path)}`, { root: dirname(path), etag: !headers.etag, lastModified: true, dotfiles: 'deny', index: false, maxAge: 0 });
  // send reads in fs's default 64 KiB chunks; 1 MiB chunks more than double the loopback throughput
  // (bench/cache.mjs). It takes no such option, so its read step gets it here.
  const stream = sender.stream.bind(sender);
  sender.stream = (file: string, options?: object) => stream(file, { ...options, highWaterMark: READ_CHUNK });
  sender
    .on('error', (err: { status?: number; code?: string; message: string }) => {
      // ENOENT: evicted or removed since the index was read.
      const status = err.code === 'ENOENT' ? 404 : (err.status ?? 500);
      reply(res, status, { error: status === 404 ? 'not cached (any more)' : err.message });
    })
    .pipe(res);
}

/** One entry, or one part of a segmented one (a bare segmented entry redirects to its playlist). */
function serveEntry({ index, storeDir }: CacheServerOptions, req: IncomingMessage, res: ServerResponse, entry: CacheEntry, part?: string): void {
  if (isHit(req) && (part === undefined || part === playlistName(entry.kind))) void index.touch(entry.id).catch(() => undefined);
  const stored = inside(storeDir, basename(entry.file));
  if (entry.kind === 'progressive') {
    if (part !== undefined) return reply(res, 404, { error: `${entry.id} is one file: no parts` });
    return serveFile(req, res, stored, { etag: `"${entry.sha256}"`, 'content-type': entry.contentType });
  }
  if (part === undefined) {
    res.writeHead(302, { location: `/c/${entry.id}/${playlistName(entry.kind)}`, 'content-length': 0 }).end();
    return;
  }
  if (!PART.test(part)) return reply(res, 400, { error: `not a part name: ${JSON.stringify(part)}` });
  serveFile(req, res, inside(stored, part), { 'cache-control': 'no-cache' });
}

/** `/c/<id>[/<part>]`. */
async function serveById(options: CacheServerOptions, req: IncomingMessage, res: ServerResponse, id: string, rawPart: string | undefined): Promise<void> {
  if (!ID.test(id)) return reply(res, 400, { error: `not a cache id: ${JSON.stringify(id.slice(0, 100))} (32 hex digits, as \`taskq cache ls\` shows)` });
  const entry = await options.index.get(id);
  if (!entry) return reply(res, 404, { error: `not cached: ${id}` });
  let part: string | undefined;
  if (rawPart !== undefined) {
    try {
      part = decodeURIComponent(rawPart);
    } catch {
      return reply(res, 400, { error: 'a part name that does not decode' });
    }
  }
  serveEntry(options, req, res, entry, part);
}

async function route(options: CacheServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { index, storeDir } = options;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, { error: `${req.method} is not allowed: the cache is read-only over HTTP` });
  }
  const url = new URL(req.url ?? '/', 'http://cache.invalid');
  if (url.pathname === '/healthz') return reply(res, 200, { ok: true, entries: await index.count(), bytes: await index.totalBytes() });
  if (url.pathname === '/u') {
    const original = url.searchParams.get('url');
    if (!original) return reply(res, 400, { error: 'give the original URL: /u?url=<url-encoded URL>' });
    const entry = await index.byUrl(original);
    return entry ? serveEntry(options, req, res, entry) : reply(res, 404, { error: `not cached: ${original.slice(0, 200)}` });
  }
  const thumb = /^\/t\/([0-9a-f]{32})\.jpg$/.exec(url.pathname);
  if (thumb) return serveFile(req, res, inside(join(dirname(storeDir), 'thumbs'), `${thumb[1] as string}.jpg`), { 'content-type': 'image/jpeg' });
  const m = /^\/c\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
  if (!m) return reply(res, 404, { error: `no such path: ${url.pathname.slice(0, 200)} (try /c/<id>, /u?url=<url>, /healthz)` });
  return serveById(options, req, res, m[1] as string, m[2]);
}

export function createCacheServer(options: CacheServerOptions): Server {
  return createServer((req, res) => {
    route(options, req, res).catch((err: Error) => reply(res, 503, { error: `cache index unavailable: ${err.message}` }));
  });
}

/** Starts a cache server; resolves with its URL once listening. */
export async function listenCacheServer(options: CacheServerOptions & { host: string; port: number }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createCacheServer(options);
  server.listen(options.port, options.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw listenError(err, 'cache server', options.host, options.port, '--port or TASKQ_CACHE_PORT');
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
