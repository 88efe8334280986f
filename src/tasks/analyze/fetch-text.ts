/**
 * Fetches a playlist or manifest for analyze: http and https only, a timeout, a size cap (read as it
 * streams, not after), no cookies or credentials — only the Referer the browser sent, which some CDNs
 * want. Throws a one-line reason.
 */
import { ANALYZE_AGENT } from '../own-traffic.js';
export interface FetchTextOptions {
  timeoutMs?: number;
  maxBytes?: number;
  referer?: string;
}

export async function fetchText(url: string, options: FetchTextOptions = {}): Promise<string> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`${url}: only http and https are fetched`);
  const maxBytes = options.maxBytes ?? 2 * 1024 * 1024;
  const res = await fetch(url, {
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    redirect: 'follow',
    headers: { 'user-agent': ANALYZE_AGENT, ...(options.referer ? { referer: options.referer } : {}) },
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  if (!/^https?:\/\//i.test(res.url)) throw new Error(`${url}: redirected off http(s)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`${url}: larger than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A resource's size without downloading it: HEAD, or (servers that refuse HEAD) a GET of its first
 * byte, read from Content-Range. Undefined when the server does not say (or does not answer in time).
 */
export async function probeSize(url: string, options: { timeoutMs?: number; referer?: string } = {}): Promise<number | undefined> {
  if (!/^https?:\/\//i.test(url)) return undefined;
  const headers = { 'user-agent': ANALYZE_AGENT, ...(options.referer ? { referer: options.referer } : {}) };
  const signal = AbortSignal.timeout(options.timeoutMs ?? 3000);
  try {
    const head = await fetch(url, { method: 'HEAD', headers, signal, redirect: 'follow' });
    const length = head.headers.get('content-length');
    if (head.ok && length && /^\d{1,15}$/.test(length)) return Number(length);
    const ranged = await fetch(url, { headers: { ...headers, range: 'bytes=0-0' }, signal, redirect: 'follow' });
    await ranged.body?.cancel();
    const total = /\/(\d{1,15})\s*$/.exec(ranged.headers.get('content-range') ?? '')?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}
