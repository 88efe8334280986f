import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../../src/capture/packet.js';
import { Reassembler, type EndReason } from '../../../src/capture/reassembly.js';
import { prng } from '../../helpers/frames.js';

function seg(seq: number, payload = '', flags: Partial<Pick<TcpSegment, 'syn' | 'fin' | 'rst'>> = {}, sport = 5000): TcpSegment {
  return { family: 4, src: '10.0.0.1', dst: '10.0.0.2', srcPort: sport, dstPort: 80, seq: seq >>> 0, ack: 0, syn: false, fin: false, rst: false, ...flags, payload: Buffer.from(payload, 'latin1'), length: payload.length };
}

function harness(options: Partial<ConstructorParameters<typeof Reassembler>[0]> = {}) {
  const streams: Array<{ text: string; gaps: number; ended?: EndReason; midstream: boolean }> = [];
  const r = new Reassembler({
    open: (_key, _seg, midstream) => {
      const s = { text: '', gaps: 0, midstream } as (typeof streams)[number];
      streams.push(s);
      return { data: (v) => void (s.text += v.toString('latin1')), gap: () => void s.gaps++, end: (why) => void (s.ended = why) };
    },
    ...options,
  });
  return { r, streams };
}

describe('TCP reassembly', () => {
  it('gives bytes in order whatever order segments arrive in; retransmissions and overlaps once', () => {
    const { r, streams } = harness();
    r.push(seg(99, '', { syn: true }), 0);
    r.push(seg(106, 'world'), 1); // early
    r.push(seg(100, 'hello'), 2);
    r.push(seg(100, 'hello'), 3); // retransmitted
    r.push(seg(103, 'lo wo'), 4); // overlaps both
    r.push(seg(105, ' '), 5); // fills the gap
    r.push(seg(111, '!', { fin: true }), 6);
    expect(streams).toEqual([{ text: 'hello world!', gaps: 0, midstream: false, ended: 'fin' }]);
    expect(r.counters.retransmittedBytes).toBeGreaterThan(0);
    expect(r.size).toBe(0);
  });

  it('picks a stream up mid-way (flagged), across the 32-bit sequence wrap', () => {
    const { r, streams } = harness();
    r.push(seg(0xfffffffe, 'ab'), 0);
    r.push(seg(2, 'ef'), 1);
    r.push(seg(0, 'cd'), 2);
    expect(streams).toEqual([{ text: 'abcdef', gaps: 0, midstream: true }]);
  });

  it('a new SYN on the same 4-tuple ends the old stream (a reused port); RST ends at once', () => {
    const { r, streams } = harness();
    r.push(seg(1000, '', { syn: true }), 0);
    r.push(seg(1001, 'first'), 1);
    r.push(seg(5000, '', { syn: true }), 2);
    r.push(seg(5001, 'second'), 3);
    r.push(seg(5007, '', { rst: true }), 4);
    expect(streams.map((s) => [s.text, s.ended])).toEqual([['first', 'reused'], ['second', 'rst']]);
  });

  it('a gap that never fills is given up past the per-stream cap: the consumer is told, the stream resumes', () => {
    const { r, streams } = harness({ maxPendingPerStream: 10 });
    r.push(seg(0, 'aaaa'), 0);
    r.push(seg(8, 'cccccc'), 1);
    r.push(seg(14, 'ddddddd'), 2); // 13 bytes held > 10
    expect(streams[0]).toMatchObject({ text: 'aaaaccccccddddddd', gaps: 1 });
    expect(r.counters.pendingBytes).toBe(0);
  });

  it('memory stays under the total cap however many streams hold gaps', () => {
    const { r } = harness({ maxPendingTotal: 1000, maxPendingPerStream: 1 << 20 });
    for (let i = 0; i < 200; i++) {
      r.push(seg(0, 'x', {}, 10_000 + i), i);
      r.push(seg(100, 'y'.repeat(50), {}, 10_000 + i), i);
      expect(r.counters.pendingBytes).toBeLessThanOrEqual(1000);
    }
  });

  it('idle streams end, the least recently seen first; past the stream cap the oldest is evicted', () => {
    const { r, streams } = harness({ idleMs: 1000, maxStreams: 3 });
    for (let i = 0; i < 4; i++) r.push(seg(0, `s${i}`, {}, 6000 + i), i * 100);
    expect(streams[0]?.ended).toBe('evicted');
    expect(r.counters.evictions).toBe(1);
    r.push(seg(2, 'more', {}, 6003), 500);
    expect(r.evictIdle(1250)).toBe(2);
    expect(streams.map((s) => s.ended)).toEqual(['evicted', 'idle', 'idle', undefined]);
  });

  it('a segment the capture cut short (snap length): what arrived, then a gap, and the stream goes on after the real end', () => {
    const { r, streams } = harness();
    r.push(seg(0, 'aaaa'), 0);
    r.push({ ...seg(4, 'bb'), length: 6 }, 1); // 6 bytes sent, 2 captured
    r.push(seg(10, 'cc'), 2);
    expect(streams[0]).toMatchObject({ text: 'aaaabbcc', gaps: 1 });
    expect(r.counters.truncatedBytes).toBe(4);
  });

  it('a segment absurdly far ahead is dropped as stray, not waited for', () => {
    const { r, streams } = harness();
    r.push(seg(0, 'ok'), 0);
    r.push(seg(1 << 30, 'junk'), 1);
    r.push(seg(2, '!'), 2);
    expect(streams[0]?.text).toBe('ok!');
    expect(r.counters.strayBytes).toBe(4);
  });

  it('fuzz: random segments of random streams never throw and keep memory under the caps (fixed seed)', () => {
    const rand = prng(42);
    const { r } = harness({ maxPendingTotal: 64 * 1024, maxStreams: 50, idleMs: 1000 });
    for (let i = 0; i < 50_000; i++) {
      const s = seg(Math.floor(rand() * 2 ** 32), 'z'.repeat(Math.floor(rand() * 100)), { syn: rand() < 0.05, fin: rand() < 0.05, rst: rand() < 0.02 }, 7000 + Math.floor(rand() * 80));
      r.push(s, i);
      if (i % 1000 === 0) r.evictIdle(i);
      expect(r.size).toBeLessThanOrEqual(50);
    }
    expect(r.counters.pendingBytes).toBeLessThanOrEqual(64 * 1024);
  });
});
