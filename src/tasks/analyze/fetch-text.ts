/**
 * Fetches a playlist or manifest for analyze: http and https only, a timeout, a size cap (read as it
 * streams, not after), no cookies or credentials — only the Referer the browser sent, which some CDNs
 * want. Throws a one-line reason.
 */
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
    headers: { 'user-agent': 'taskq-analyze', ...(options.referer ? { referer: options.referer } : {}) },
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
