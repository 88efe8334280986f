/**
 * A small video origin on loopback: in-memory files served with Range, HEAD and Content-Type, an
 * optional rate limit (bytes a second, per response) and redirects, logging each request. The demo
 * `npm start` runs serves a generated MP4 and an HLS set from it; the tests serve their own files.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenError } from '../errors.js';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OriginFile {
  body: Buffer;
  type: string;
  /** More response headers (e.g. a Content-Disposition). */
  headers?: Record<string, string>;
}

export interface OriginRequest {
  method: string;
  path: string;
  range: string | undefined;
  /** When it arrived (performance.now(), ms). */
  at: number;
}

export interface OriginOptions {
  files: Record<string, OriginFile>;
  /** path → Location: answered 302. */
  redirects?: Record<string, string>;
  /** Bytes a second each response is held to (unlimited when absent). */
  rate?: number;
  host?: string;
  port?: number;
}

export interface Origin {
  url: string;
  server: Server;
  requests: OriginRequest[];
  /** Changes the rate limit of responses from now on (undefined: unlimited). */
  setRate(rate: number | undefined): void;
  close(): Promise<void>;
}

async function write(res: ServerResponse, body: Buffer, rate: () => number | undefined): Promise<void> {
  const chunk = rate() ? 16 * 1024 : 1024 * 1024; // small pieces only where a rate is kept
  for (let at = 0; at < body.length && !res.destroyed; at += chunk) {
    const piece = body.subarray(at, at + chunk);
    const limit = rate();
    if (!res.write(piece)) await once(res, 'drain').catch(() => undefined);
    if (limit) await sleep((piece.length / limit) * 1000);
  }
  res.end();
}

function answer(req: IncomingMessage, res: ServerResponse, file: OriginFile, rate: () => number | undefined): void {
  const size = file.body.length;
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (m && (m[1] || m[2])) {
    start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (start >= size || start > end) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
  }
  res.writeHead(status, {
    'content-type': file.type,
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    ...file.headers,
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  void write(res, file.body.subarray(start, end + 1), rate);
}

export async function startOrigin(options: OriginOptions): Promise<Origin> {
  const requests: OriginRequest[] = [];
  let rate = options.rate;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string; // as sent: hostile paths are served as written
    requests.push({ method: req.method ?? 'GET', path, range: req.headers.range, at: performance.now() });
    const to = options.redirects?.[path];
    if (to) {
      res.writeHead(302, { location: to, 'content-length': 0 }).end();
      return;
    }
    const file = options.files[path];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    answer(req, res, file, () => rate);
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (err) {
    throw listenError(err, 'demo origin', options.host ?? '127.0.0.1', options.port ?? 0, '--port or TASKQ_DEMO_PORT (one the capture watches)');
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    requests,
    setRate: (r) => {
      rate = r;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
