/**
 * From captured frames to observations: decodes each frame, reassembles each TCP direction, and reads
 * what a direction says at its start — a TLS ClientHello (its server name), HTTP/1 requests (their
 * URLs), or anything else (ignored: responses, other protocols). The same code serves live capture and
 * capture files; it holds no I/O and no clock (the frame's time is passed in).
 */
import type { Observation } from './observation.js';
import { decodeTcp, type TcpSegment } from './packet.js';
import { Reassembler, type ReassemblyOptions, type StreamSink } from './reassembly.js';
import { RequestParser, type RequestHead } from './http-request.js';
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
}

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
  readonly counters: FlowCounters = { packets: 0, bytes: 0, notTcp: 0, requests: 0, tlsHellos: 0, badRequests: 0 };
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

  evictIdle(now: number): number {
    return this.reassembler.evictIdle(now);
  }

  /** Ends every stream: what is buffered is dropped (the capture stops). */
  close(): void {
    this.reassembler.closeAll();
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
      if (start.startsWith('HTTP/') || (midstream && !toServer)) return 'ignore'; // a response stream
      if (/^[A-Z]{3,}/.test(start) || midstream) return start.length < 5 && 'HTTP/'.startsWith(start) ? 'wait' : this.httpReader(src, dst, server, midstream);
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

  private httpReader(src: string, dst: string, server: { address: string; port: number }, midstream: boolean): StreamSink {
    const parser = new RequestParser((head) => this.request(head, src, dst, server), { midstream, ...(this.options.maxHeadBytes ? { maxHeadBytes: this.options.maxHeadBytes } : {}) });
    return { data: (v) => parser.data(v), gap: () => parser.gap(), end: () => parser.stop() };
  }

  private request(head: RequestHead, src: string, dst: string, server: { address: string; port: number }): void {
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
    this.options.onObservation({ kind: 'http', ts: this.now, src, dst, host: made.host, url: made.url, method: head.method, headers });
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
