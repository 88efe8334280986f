/**
 * Per-direction TCP reassembly: each direction of each connection becomes an ordered byte stream for
 * its consumer, whatever order the segments came in. Retransmitted and overlapping bytes are given
 * once; out-of-order segments wait (copied: the capture buffer is reused) until the gap before them
 * fills; a stream picked up mid-way starts at its first segment seen, flagged so the consumer resyncs.
 * Memory is bounded: out-of-order bytes per stream and in all, and the number of streams (the least
 * recently seen go first); idle streams are evicted. A SYN with a new sequence number on a known
 * 4-tuple ends the old stream (a reused port). Pure: time is passed in.
 */
import type { TcpSegment } from './packet.js';

export type EndReason = 'fin' | 'rst' | 'reused' | 'idle' | 'evicted';

/** What a stream's consumer is told. */
export interface StreamSink {
  /** Bytes in order. `view` is only valid during the call. */
  data(view: Buffer): void;
  /** Bytes were lost (a gap that never filled, memory cap): the stream resumes after it. */
  gap(): void;
  end(reason: EndReason): void;
}

export interface ReassemblyOptions {
  /** A new direction's consumer; `midstream` when its start was not seen (no SYN). */
  open(key: DirectionKey, segment: TcpSegment, midstream: boolean): StreamSink;
  /** Out-of-order bytes kept per stream before the gap is given up (default 1 MiB). */
  maxPendingPerStream?: number;
  /** Out-of-order bytes kept in all (default 32 MiB). */
  maxPendingTotal?: number;
  /** Streams tracked at once (default 100,000). */
  maxStreams?: number;
  /** A stream not seen for this long is ended (ms, default 120 s). */
  idleMs?: number;
}

/** One direction of a connection: `src:port>dst:port`. */
export type DirectionKey = string;

export interface ReassemblyCounters {
  streams: number;
  pendingBytes: number;
  retransmittedBytes: number;
  gaps: number;
  evictions: number;
  /** Bytes of segments too far ahead of their stream to be real (dropped). */
  strayBytes: number;
  /** Bytes the capture cut off (snap length): each cut is a gap. */
  truncatedBytes: number;
}

/** Out-of-order data further ahead than this (bytes) is not held: TCP windows are at most 1 GiB, real ones far less. */
const MAX_AHEAD = 64 << 20;

interface Stream {
  key: DirectionKey;
  sink: StreamSink;
  /** Next sequence number expected. */
  next: number;
  /** The SYN's sequence number, if seen (a different one on this key is a new connection). */
  isn: number | undefined;
  /** Out-of-order segments by sequence number. */
  pending: Map<number, Buffer>;
  pendingBytes: number;
  /** Sequence number of the FIN, once seen. */
  finAt: number | undefined;
  lastSeen: number;
}

/** Signed distance from `b` to `a` in 32-bit sequence space. */
const diff = (a: number, b: number): number => (a - b) | 0;

export class Reassembler {
  private readonly streams = new Map<DirectionKey, Stream>();
  private readonly maxPendingPerStream: number;
  private readonly maxPendingTotal: number;
  private readonly maxStreams: number;
  private readonly idleMs: number;
  readonly counters: ReassemblyCounters = { streams: 0, pendingBytes: 0, retransmittedBytes: 0, gaps: 0, evictions: 0, strayBytes: 0, truncatedBytes: 0 };

  constructor(private readonly options: ReassemblyOptions) {
    this.maxPendingPerStream = options.maxPendingPerStream ?? 1 << 20;
    this.maxPendingTotal = options.maxPendingTotal ?? 32 << 20;
    this.maxStreams = options.maxStreams ?? 100_000;
    this.idleMs = options.idleMs ?? 120_000;
  }

  /** Feeds one segment seen at `now` (ms). */
  push(seg: TcpSegment, now: number): void {
    const key = `${seg.src}:${seg.srcPort}>${seg.dst}:${seg.dstPort}`;
    let s = this.streams.get(key);
    if (s && seg.syn && s.isn !== seg.seq) {
      this.close(s, 'reused');
      s = undefined;
    }
    if (seg.rst) {
      if (s) this.close(s, 'rst');
      return;
    }
    if (!s) {
      if (!seg.syn && seg.payload.length === 0 && !seg.fin) return; // a bare ACK starts nothing
      s = this.open(key, seg, now);
    }
    this.streams.delete(key); // re-insert: the map's order is least recently seen first
    this.streams.set(key, s);
    s.lastSeen = now;
    const start = seg.syn ? (seg.seq + 1) >>> 0 : seg.seq;
    const length = Math.max(seg.length ?? seg.payload.length, seg.payload.length);
    if (seg.fin) s.finAt = (start + length) >>> 0;
    if (length > seg.payload.length) this.truncated(s, start, seg.payload, length);
    else if (seg.payload.length) this.accept(s, start, seg.payload);
    if (s.finAt !== undefined && s.next === s.finAt) this.close(s, 'fin');
  }

  private open(key: DirectionKey, seg: TcpSegment, now: number): Stream {
    if (this.streams.size >= this.maxStreams) {
      const oldest = this.streams.values().next().value as Stream;
      this.counters.evictions++;
      this.close(oldest, 'evicted');
    }
    const start = seg.syn ? (seg.seq + 1) >>> 0 : seg.seq;
    const s: Stream = { key, sink: this.options.open(key, seg, !seg.syn), next: start, isn: seg.syn ? seg.seq : undefined, pending: new Map(), pendingBytes: 0, finAt: undefined, lastSeen: now };
    this.counters.streams++;
    return s;
  }

  private accept(s: Stream, seq: number, payload: Buffer): void {
    const d = diff(seq, s.next);
    if (d < 0) {
      // Retransmitted, or overlapping what was given already: only its new tail counts.
      const fresh = d + payload.length;
      this.counters.retransmittedBytes += Math.min(payload.length, -d);
      if (fresh <= 0) return;
      payload = payload.subarray(-d);
      seq = s.next;
    }
    if (seq !== s.next) {
      // Further ahead than any real window: a stray or forged segment, not this stream's future.
      if (diff(seq, s.next) > MAX_AHEAD) {
        this.counters.strayBytes += payload.length;
        return;
      }
      this.hold(s, seq, payload);
      return;
    }
    this.deliver(s, payload);
    this.drain(s);
  }

  /**
   * A segment the capture cut short (snap length): in order, what arrived is given, then a gap for
   * the rest, and the stream goes on after it; out of order it cannot be placed, so it is dropped.
   */
  private truncated(s: Stream, seq: number, payload: Buffer, length: number): void {
    this.counters.truncatedBytes += length - payload.length;
    const d = diff(seq, s.next);
    if (d > 0 || d + length <= 0) return;
    if (-d < payload.length) this.deliver(s, payload.subarray(-d));
    this.counters.gaps++;
    s.sink.gap();
    s.next = (seq + length) >>> 0;
    this.drain(s);
  }

  private deliver(s: Stream, view: Buffer): void {
    s.next = (s.next + view.length) >>> 0;
    s.sink.data(view);
  }

  /** Gives the held segments that now follow on, in order. */
  private drain(s: Stream): void {
    for (;;) {
      let progressed = false;
      for (const [seq, buf] of s.pending) {
        const d = diff(seq, s.next);
        if (d > 0) continue;
        s.pending.delete(seq);
        this.release(s, buf.length);
        if (d + buf.length > 0) this.deliver(s, buf.subarray(-d));
        progressed = true;
      }
      if (!progressed) return;
    }
  }

  /** Keeps an out-of-order segment; past the caps, the gap before the held data is given up. */
  private hold(s: Stream, seq: number, payload: Buffer): void {
    const existing = s.pending.get(seq);
    if (existing && existing.length >= payload.length) return;
    if (existing) {
      this.release(s, existing.length);
      s.pending.delete(seq);
    }
    s.pending.set(seq, Buffer.from(payload));
    s.pendingBytes += payload.length;
    this.counters.pendingBytes += payload.length;
    if (s.pendingBytes > this.maxPendingPerStream) this.skipGap(s);
    if (this.counters.pendingBytes > this.maxPendingTotal) this.shedPending();
  }

  private release(s: Stream, bytes: number): void {
    s.pendingBytes -= bytes;
    this.counters.pendingBytes -= bytes;
  }

  /** The missing bytes are not coming: resume at the earliest held segment. */
  private skipGap(s: Stream): void {
    let earliest: number | undefined;
    for (const seq of s.pending.keys()) if (earliest === undefined || diff(seq, earliest) < 0) earliest = seq;
    if (earliest === undefined) return;
    this.counters.gaps++;
    s.sink.gap();
    s.next = earliest;
    this.drain(s);
  }

  /** Over the total cap: the least recently seen streams give up their gaps first. */
  private shedPending(): void {
    for (const s of this.streams.values()) {
      if (this.counters.pendingBytes <= this.maxPendingTotal) return;
      if (s.pendingBytes) this.skipGap(s);
    }
  }

  /** Ends the streams not seen since `now - idleMs`. */
  evictIdle(now: number): number {
    let n = 0;
    for (const s of this.streams.values()) {
      if (now - s.lastSeen < this.idleMs) break; // least recently seen first
      this.close(s, 'idle');
      n++;
    }
    return n;
  }

  /** Ends every stream (the capture stops). */
  closeAll(): void {
    for (const s of [...this.streams.values()]) this.close(s, 'evicted');
  }

  get size(): number {
    return this.streams.size;
  }

  private close(s: Stream, reason: EndReason): void {
    if (this.streams.get(s.key) !== s) return;
    this.streams.delete(s.key);
    this.counters.pendingBytes -= s.pendingBytes;
    s.pending.clear();
    s.sink.end(reason);
  }
}
