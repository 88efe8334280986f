/**
 * From captured frames to observations: decodes each frame, reassembles each TCP direction, and reads
 * what a direction says at its start — a TLS ClientHello (its server name), HTTP/1 requests (their
 * URLs), or anything else (ignored: responses, other protocols). The same code serves live capture and
 * capture files; it holds no I/O and no clock (the frame's time is passed in).
 */
import type { Observation } from './observation.js';
import { decodeTcp, type TcpSegment } from './packet.js';
import { Reassembler, type ReassemblyOptions, type StreamSink } from './reassembly.js';
import { RequestParser, ResponseParser, type RequestHead, type ResponseHead } from './http1-parser.js';
import { clientHelloSni, looksLikeTls } from './sni.js';
import { requestUrl } from './url.js';

export interface FlowCounters {
  packets: number;
  bytes: number;
  /** Frames that were not a TCP segment (other protocols, later fragments, malformed, truncated). */
  notTcp: number;
  requests: number;
  tlsHellos: number;
  /** Requests no URL could be made of (hostile, oversized, odd scheme): counted, never sent on. */
  badRequests: number;
  /** Response heads seen and paired with their request. */
  responses: number;
}

/** A connection's requests still waiting for their response (the observation goes out with it). */
interface Conn {
  pending: Observation[];
}

/** How long a request waits for its response before it goes out without one (ms of capture time). */
const RESPONSE_WAIT_MS = 10_000;
/** Requests a connection may have waiting (pipelining depth) before the oldest goes out without a response. */
const MAX_WAITING = 64;

export interface FlowTrackerOptions extends Omit<ReassemblyOptions, 'open'> {
  onObservation: (o: Observation) => void;
  maxHeadBytes?: number;
  /** Ports servers listen on: a stream picked up mid-way is read as requests only if it goes to one (default 80, 3128, 8000, 8008, 8080). */
  serverPorts?: readonly number[];
}

const SERVER_PORTS = [80, 3128, 8000, 8008, 8080];

/** How much of a stream's start is read to tell what it carries (a ClientHello fits, mostly). */
const SNIFF_BYTES = 16 * 1024;
const KEPT_HEADERS = ['range', 'user-agent', 'referer', 'accept'] as const;

const endpoint = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

export class FlowTracker {
  readonly counters: FlowCounters = { packets: 0, bytes: 0, notTcp: 0, requests: 0, tlsHellos: 0, badRequests: 0, responses: 0 };
  private readonly conns = new Map<string, Conn>();
  private readonly reassembler: Reassembler;
  /** The capture time of the frame being handled (ms). */
  private now = 0;

  constructor(private readonly options: FlowTrackerOptions) {
    this.reassembler = new Reassembler({ ...options, open: (_key, seg, midstream) => this.open(seg, midstream) });
  }

  get reassembly(): Reassembler {
    return this.reassembler;
  }

  /** One captured frame, taken at `ts` (ms since the epoch). */
  push(frame: Buffer, linkType: number, ts: number): void {
    this.counters.packets++;
    this.counters.bytes += frame.length;
    const seg = decodeTcp(frame, linkType);
    if (!seg) {
      this.counters.notTcp++;
      return;
    }
    this.now = ts;
    this.reassembler.push(seg, ts);
  }

  /** Ends idle streams; requests whose response did not come in time go out without one. */
  evictIdle(now: number): number {
    for (const [key, conn] of this.conns) {
      while (conn.pending.length && now - (conn.pending[0] as Observation).ts > RESPONSE_WAIT_MS) this.options.onObservation(conn.pending.shift() as Observation);
      if (!conn.pending.length) this.conns.delete(key);
    }
    return this.reassembler.evictIdle(now);
  }

  /** Ends every stream; requests still waiting for a response go out without one (the capture stops). */
  close(): void {
    this.reassembler.closeAll();
    for (const key of [...this.conns.keys()]) this.flush(key);
  }

  private connOf(seg: TcpSegment): { key: string; conn: Conn } {
    const a = endpoint(seg.src, seg.srcPort);
    const b = endpoint(seg.dst, seg.dstPort);
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let conn = this.conns.get(key);
    if (!conn) this.conns.set(key, (conn = { pending: [] }));
    return { key, conn };
  }

  /** Sends the connection's waiting requests without a response. */
  private flush(key: string): void {
    const conn = this.conns.get(key);
    if (!conn) return;
    this.conns.delete(key);
    for (const o of conn.pending) this.options.onObservation(o);
  }

  /** A new direction: sniff its first bytes, then hand it to the reader they call for. */
  private open(seg: TcpSegment, midstream: boolean): StreamSink {
    const src = endpoint(seg.src, seg.srcPort);
    const dst = endpoint(seg.dst, seg.dstPort);
    const server = { address: seg.dst, port: seg.dstPort };
    let reader: StreamSink | undefined;
    let sniffed = Buffer.alloc(0);
    const ports = this.options.serverPorts ?? SERVER_PORTS;
    // Picked up mid-way, a direction is read as requests only if it heads for a server port.
    const toServer = ports.includes(seg.dstPort) || (!ports.includes(seg.srcPort) && seg.dstPort < seg.srcPort);
    const decide = (first: Buffer): StreamSink | 'wait' | 'ignore' => {
      const start = first.toString('latin1', 0, Math.min(first.length, 8));
      if (looksLikeTls(first)) return this.tlsReader(src, dst);
      // HTTP/2 with prior knowledge carries no readable URL: not worth scanning.
      if ('PRI * HTTP/2.0'.startsWith(start) || start.startsWith('PRI * HT')) return start.length < 8 ? 'wait' : 'ignore';
      if (midstream && !toServer) return 'ignore'; // a server's stream picked up mid-way: no way to pair it
      if (start.startsWith('HTTP/')) return this.responseReader(seg);
      if (/^[A-Z]{3,}/.test(start) || midstream) return start.length < 5 && 'HTTP/'.startsWith(start) ? 'wait' : this.httpReader(seg, src, dst, server, midstream);
      return first.length < 3 ? 'wait' : 'ignore';
    };
    let ignored = false;
    return {
      data: (view) => {
        if (ignored) return;
        if (reader) return reader.data(view);
        sniffed = Buffer.concat([sniffed, view]);
        const choice = decide(sniffed);
        if (choice === 'wait') return;
        if (choice === 'ignore') {
          ignored = true;
          sniffed = Buffer.alloc(0);
          return;
        }
        reader = choice;
        const first = sniffed;
        sniffed = Buffer.alloc(0);
        reader.data(first);
      },
      gap: () => reader?.gap(),
      end: (why) => reader?.end(why),
    };
  }

  private httpReader(seg: TcpSegment, src: string, dst: string, server: { address: string; port: number }, midstream: boolean): StreamSink {
    const { key, conn } = this.connOf(seg);
    const parser = new RequestParser((head) => this.request(head, conn, src, dst, server), { midstream, ...(this.options.maxHeadBytes ? { maxHeadBytes: this.options.maxHeadBytes } : {}) });
    return this.parserSink(parser, key);
  }

  /** A direction read by `parser`; when it ends, its connection's waiting requests go out. */
  private parserSink(parser: { data(v: Buffer): void; gap(): void; stop(): void }, key: string): StreamSink {
    return {
      data: (v) => parser.data(v),
      gap: () => parser.gap(),
      end: () => {
        parser.stop();
        this.flush(key);
      },
    };
  }

  /** A server's stream: each response goes out with the oldest request waiting on its connection. */
  private responseReader(seg: TcpSegment): StreamSink {
    const { key, conn } = this.connOf(seg);
    const parser = new ResponseParser((head) => this.response(head, conn), () => conn.pending[0]?.method, this.options.maxHeadBytes ? { maxHeadBytes: this.options.maxHeadBytes } : {});
    return this.parserSink(parser, key);
  }

  private response(head: ResponseHead, conn: Conn): void {
    if (head.status < 200) return; // 100 Continue and friends: the real response follows
    const o = conn.pending.shift();
    if (!o) return;
    this.counters.responses++;
    const h = head.headers;
    const length = h['content-length'];
    o.response = {
      status: head.status,
      ...(h['content-type'] ? { contentType: h['content-type'].slice(0, 200) } : {}),
      ...(length !== undefined && /^\d{1,15}$/.test(length) ? { contentLength: Number(length) } : {}),
      ...(h['content-range'] ? { contentRange: h['content-range'].slice(0, 200) } : {}),
    };
    this.options.onObservation(o);
  }

  private request(head: RequestHead, conn: Conn, src: string, dst: string, server: { address: string; port: number }): void {
    this.counters.requests++;
    if (head.method === 'CONNECT') {
      const host = head.target.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
      this.options.onObservation({ kind: 'connect', ts: this.now, src, dst, host, method: 'CONNECT' });
      return;
    }
    const made = requestUrl(head, server);
    if ('problem' in made) {
      this.counters.badRequests++;
      return;
    }
    const headers: NonNullable<Observation['headers']> = {};
    for (const h of KEPT_HEADERS) if (head.headers[h] !== undefined) headers[h] = head.headers[h].slice(0, 1024);
    // Out once its response head arrives (or it waited too long, or the connection ended).
    conn.pending.push({ kind: 'http', ts: this.now, src, dst, host: made.host, url: made.url, method: head.method, headers });
    if (conn.pending.length > MAX_WAITING) this.options.onObservation(conn.pending.shift() as Observation);
  }

  private tlsReader(src: string, dst: string): StreamSink {
    let buf = Buffer.alloc(0);
    let done = false;
    return {
      data: (view) => {
        if (done) return;
        buf = Buffer.concat([buf, view]);
        const sni = clientHelloSni(buf);
        if (sni === undefined && buf.length < SNIFF_BYTES) return;
        done = true;
        buf = Buffer.alloc(0);
        this.counters.tlsHellos++;
        if (sni) this.options.onObservation({ kind: 'tls', ts: this.now, src, dst, host: sni });
      },
      gap: () => void (done = true),
      end: () => void (buf = Buffer.alloc(0)),
    };
  }
}
