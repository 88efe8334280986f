/**
 * HTTP/1.x message heads from one direction of a connection, as reassembly gives it: requests from a
 * client, responses from a server. Pipelined and keep-alive messages one after another (bodies
 * skipped by Content-Length or chunked coding, a response to HEAD or a 1xx / 204 / 304 has none), a
 * head split over any number of segments, and resync after a gap, a mid-stream pickup or garbage (the
 * next start line). Memory is bounded by `maxHeadBytes`. Pure: no I/O, no clock.
 */

export interface RequestHead {
  method: string;
  /** The request target as sent (origin form `/p?q`, absolute form, `host:port` for CONNECT, `*`). */
  target: string;
  version: '1.0' | '1.1';
  /** Lower-case names; the first value of each (at most MAX_HEADERS). */
  headers: Record<string, string>;
}

export interface ResponseHead {
  status: number;
  version: '1.0' | '1.1';
  headers: Record<string, string>;
}

/** How a message's body is framed (RFC 9112 §6.3). */
type Framing = { kind: 'none' } | { kind: 'chunked' } | { kind: 'length'; n: number } | { kind: 'until-close' } | { kind: 'bad' };

/** What differs between requests and responses. */
interface Dialect<T> {
  startLine: RegExp;
  /** A start line anywhere (after a body, after garbage), for resync. */
  resync: RegExp;
  /** Could these first bytes begin a start line (more may come)? */
  mayStart(first: string): boolean;
  make(m: RegExpExecArray, headers: Record<string, string>): T;
  framing(head: T): Framing;
}

const MAX_HEADERS = 100;

function commonFraming(headers: Record<string, string>): Framing | undefined {
  const te = headers['transfer-encoding'];
  if (te && /(?:^|,)\s*chunked\s*$/i.test(te)) return { kind: 'chunked' };
  const cl = headers['content-length'];
  if (cl === undefined) return undefined;
  return /^\d{1,15}$/.test(cl) ? { kind: 'length', n: Number(cl) } : { kind: 'bad' };
}

const REQUESTS: Dialect<RequestHead> = {
  startLine: /^([A-Z][A-Z-]{1,19}) (\S+) HTTP\/1\.([01])$/,
  resync: /(?<![A-Za-z])(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PROPFIND) \S+ HTTP\/1\.[01]\r\n/,
  mayStart: (first) => /^[A-Z][A-Z-]{0,19}(?: |$)/.test(first),
  make: (m, headers) => ({ method: m[1] as string, target: m[2] as string, version: m[3] === '0' ? '1.0' : '1.1', headers }),
  // A request without Content-Length or chunked coding has no body; CONNECT turns the stream into a tunnel.
  framing: (head) => commonFraming(head.headers) ?? (head.method === 'CONNECT' ? { kind: 'until-close' } : { kind: 'none' }),
};

/** Responses; `requestMethod` says which request the next response answers (HEAD's has no body). */
function responses(requestMethod: () => string | undefined): Dialect<ResponseHead> {
  return {
    startLine: /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/,
    resync: /HTTP\/1\.[01] \d{3}[^\r\n]*\r\n/,
    mayStart: (first) => 'HTTP/1.'.startsWith(first.slice(0, 7)),
    make: (m, headers) => ({ status: Number(m[2]), version: m[1] === '0' ? '1.0' : '1.1', headers }),
    framing: (head) => {
      if (head.status < 200 || head.status === 204 || head.status === 304 || requestMethod() === 'HEAD') return { kind: 'none' };
      return commonFraming(head.headers) ?? { kind: 'until-close' };
    },
  };
}

type State =
  | { kind: 'head' }
  | { kind: 'resync' }
  | { kind: 'body'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailer' }
  | { kind: 'done' };

export interface ParserCounters {
  /** Message heads read. */
  messages: number;
  /** Bytes skipped while looking for the next request line (garbage, mid-stream pickup). */
  skippedBytes: number;
  /** Heads longer than the cap, dropped. */
  oversizedHeads: number;
}

class Http1Parser<T> {
  private buf: Buffer = Buffer.alloc(0);
  private state: State;
  readonly counters: ParserCounters = { messages: 0, skippedBytes: 0, oversizedHeads: 0 };

  constructor(
    private readonly dialect: Dialect<T>,
    private readonly onHead: (head: T) => void,
    options: { midstream?: boolean; maxHeadBytes?: number } = {},
  ) {
    this.state = options.midstream ? { kind: 'resync' } : { kind: 'head' };
    this.maxHeadBytes = options.maxHeadBytes ?? 64 * 1024;
  }

  private readonly maxHeadBytes: number;

  data(view: Buffer): void {
    if (this.state.kind === 'done') return;
    // Bodies are skipped without being copied.
    let at = 0;
    while (at < view.length && (this.state.kind === 'body' || this.state.kind === 'chunk-data') && this.buf.length === 0) {
      const n = Math.min(this.state.left, view.length - at);
      at += n;
      this.state.left -= n;
      if (this.state.left === 0) this.state = this.state.kind === 'body' ? { kind: 'head' } : { kind: 'chunk-end' };
    }
    if (at >= view.length) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, view.subarray(at)]) : Buffer.from(view.subarray(at));
    this.run();
  }

  /** Bytes were lost: whatever was under way is abandoned; the next request line resumes the stream. */
  gap(): void {
    this.buf = Buffer.alloc(0);
    this.state = { kind: 'resync' };
  }

  /** The stream is not HTTP/1 after all (HTTP/2, TLS): stop looking. */
  stop(): void {
    this.buf = Buffer.alloc(0);
    this.state = { kind: 'done' };
  }

  private run(): void {
    for (;;) {
      const before = this.buf.length;
      const state = this.state;
      if (state.kind === 'head') this.head();
      else if (state.kind === 'resync') this.resync();
      else if (state.kind === 'body' || state.kind === 'chunk-data') this.skip(state);
      else if (state.kind === 'chunk-size') this.chunkSize();
      else if (state.kind === 'chunk-end') this.line(() => ({ kind: 'chunk-size' }));
      else if (state.kind === 'trailer') this.trailer();
      else return;
      if (this.buf.length === before && this.state === state) return; // needs more bytes
    }
  }

  private take(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  private head(): void {
    // Empty lines between pipelined requests are allowed (RFC 9112 §2.2).
    while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.take(2);
    const end = this.buf.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0) {
      if (this.buf.length > this.maxHeadBytes) this.oversized(this.buf.length);
      else if (!this.dialect.mayStart(this.buf.toString('latin1', 0, Math.min(this.buf.length, 24)))) this.notARequest();
      return;
    }
    if (end > this.maxHeadBytes) return this.oversized(end + 4);
    const text = this.buf.toString('latin1', 0, end);
    const lines = text.split('\r\n');
    const m = this.dialect.startLine.exec(lines[0] as string);
    if (!m) return this.notARequest();
    this.take(end + 4);
    const headers: Record<string, string> = {};
    let count = 0;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0 || count >= MAX_HEADERS) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!(name in headers)) {
        headers[name] = line.slice(colon + 1).trim();
        count++;
      }
    }
    const head = this.dialect.make(m, headers);
    this.counters.messages++;
    // Framing first: a response's depends on the request it answers, which onHead may move past.
    const framing = this.dialect.framing(head);
    this.onHead(head);
    this.state = this.bodyState(framing);
  }

  private bodyState(f: Framing): State {
    if (f.kind === 'chunked') return { kind: 'chunk-size' };
    if (f.kind === 'length') return f.n > 0 ? { kind: 'body', left: f.n } : { kind: 'head' };
    if (f.kind === 'bad') return { kind: 'resync' }; // unusable framing: find the next message
    if (f.kind === 'until-close') return { kind: 'done' };
    return { kind: 'head' };
  }

  /** A head longer than the cap: its first `bytes` go (the rest may hold the next request). */
  private oversized(bytes: number): void {
    this.counters.oversizedHeads++;
    this.counters.skippedBytes += bytes;
    this.take(bytes);
    this.state = { kind: 'resync' };
  }

  /** What starts the buffer is not a request line: look further (one byte on, at least, so this ends). */
  private notARequest(): void {
    this.counters.skippedBytes += 1;
    this.take(1);
    this.state = { kind: 'resync' };
  }

  private resync(): void {
    const text = this.buf.toString('latin1');
    const m = this.dialect.resync.exec(text);
    if (m) {
      this.counters.skippedBytes += m.index;
      this.take(m.index);
      this.state = { kind: 'head' };
      return;
    }
    // Keep a tail that may hold the start of a request line split over segments.
    const drop = this.buf.length - Math.min(this.buf.length, 300);
    this.counters.skippedBytes += drop;
    this.take(drop);
  }

  private skip(state: { kind: 'body' | 'chunk-data'; left: number }): void {
    const n = Math.min(state.left, this.buf.length);
    this.take(n);
    state.left -= n;
    if (state.left === 0) this.state = state.kind === 'body' ? { kind: 'head' } : { kind: 'chunk-end' };
  }

  /** Consumes one CRLF-terminated line, then moves on as `next` says. */
  private line(next: (line: string) => State): void {
    const end = this.buf.indexOf('\r\n', 0, 'latin1');
    if (end < 0) {
      if (this.buf.length > 4096) this.gap();
      return;
    }
    const text = this.buf.toString('latin1', 0, end);
    this.take(end + 2);
    this.state = next(text);
  }

  private chunkSize(): void {
    this.line((text) => {
      const m = /^([0-9a-fA-F]{1,15})(?:;.*)?$/.exec(text.trim());
      if (!m) return { kind: 'resync' };
      const size = parseInt(m[1] as string, 16);
      return size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', left: size };
    });
  }

  private trailer(): void {
    this.line((text) => (text === '' ? { kind: 'head' } : { kind: 'trailer' }));
  }
}

/** Request heads from a client's stream. */
export class RequestParser extends Http1Parser<RequestHead> {
  constructor(onRequest: (head: RequestHead) => void, options: { midstream?: boolean; maxHeadBytes?: number } = {}) {
    super(REQUESTS, onRequest, options);
  }
}

/** Response heads from a server's stream; `requestMethod()` names the request the next one answers. */
export class ResponseParser extends Http1Parser<ResponseHead> {
  constructor(onResponse: (head: ResponseHead) => void, requestMethod: () => string | undefined, options: { maxHeadBytes?: number } = {}) {
    super(responses(requestMethod), onResponse, options);
  }
}
