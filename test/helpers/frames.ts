/** Builds captured frames for the capture tests: TCP in IPv4 / IPv6, wrapped in each link type. */
import { isIPv6 } from 'node:net';

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: { syn?: boolean; fin?: boolean; rst?: boolean; ack?: boolean };
  payload?: Buffer | string;
}

function v6Bytes(addr: string): Buffer {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

function tcp(s: SegmentSpec): Buffer {
  const payload = typeof s.payload === 'string' ? Buffer.from(s.payload, 'latin1') : (s.payload ?? Buffer.alloc(0));
  const h = Buffer.alloc(20);
  h.writeUInt16BE(s.sport, 0);
  h.writeUInt16BE(s.dport, 2);
  h.writeUInt32BE(s.seq >>> 0, 4);
  h.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  h[12] = 5 << 4;
  const f = s.flags ?? {};
  h[13] = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.ack ?? true ? 0x10 : 0);
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

/** An IP packet (v4 or v6 by the addresses) carrying the segment; `v6ext` adds a hop-by-hop header. */
export function ipPacket(s: SegmentSpec, options: { v6ext?: boolean; fragmentOffset?: number } = {}): Buffer {
  const body = tcp(s);
  if (isIPv6(s.src)) {
    const ext = options.v6ext ? Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]) : Buffer.alloc(0);
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(ext.length + body.length, 4);
    h[6] = options.v6ext ? 0 : 6;
    h[7] = 64;
    v6Bytes(s.src).copy(h, 8);
    v6Bytes(s.dst).copy(h, 24);
    return Buffer.concat([h, ext, body]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h.writeUInt16BE(options.fragmentOffset ?? 0, 6);
  h[8] = 64;
  h[9] = 6;
  Buffer.from(s.src.split('.').map(Number)).copy(h, 12);
  Buffer.from(s.dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, body]);
}

export type Link = 'ethernet' | 'vlan' | 'qinq' | 'sll' | 'sll2' | 'null' | 'null6bsd' | 'loop' | 'raw' | 'pppoe' | 'ppp' | 'l2tp';

/** A PPP frame (address/control, two-byte protocol) around an IP packet. */
function pppFrame(ip: Buffer, v6: boolean): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0x03, 0x00, v6 ? 0x57 : 0x21]), ip]);
}

/** IPv4 + UDP (port 1701) + an L2TPv2 data header with length and sequence fields, around a PPP frame. */
function l2tpPacket(inner: Buffer): Buffer {
  const l2 = Buffer.alloc(12);
  l2.writeUInt16BE(0x4802, 0); // L (length) and S (sequence) bits, version 2
  l2.writeUInt16BE(12 + inner.length, 2);
  l2.writeUInt16BE(7, 4); // tunnel
  l2.writeUInt16BE(9, 6); // session
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(1701, 0);
  udp.writeUInt16BE(1701, 2);
  udp.writeUInt16BE(8 + l2.length + inner.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length + l2.length + inner.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from([192, 0, 2, 1]).copy(ip, 12);
  Buffer.from([192, 0, 2, 2]).copy(ip, 16);
  return Buffer.concat([ip, udp, l2, inner]);
}

/** [link type number, frame]. */
export function frame(s: SegmentSpec, link: Link = 'ethernet', options: { v6ext?: boolean; fragmentOffset?: number } = {}): [number, Buffer] {
  const ip = ipPacket(s, options);
  const v6 = isIPv6(s.src);
  const et = Buffer.alloc(2);
  et.writeUInt16BE(v6 ? 0x86dd : 0x0800);
  const macs = Buffer.alloc(12, 0xab);
  const tag = (tpid: number): Buffer => Buffer.from([tpid >> 8, tpid & 0xff, 0, 5]);
  switch (link) {
    case 'ethernet':
      return [1, Buffer.concat([macs, et, ip])];
    case 'pppoe': {
      const session = Buffer.from([0x11, 0x00, 0x12, 0x34, 0, 0]);
      return [1, Buffer.concat([macs, Buffer.from([0x88, 0x64]), session, Buffer.from([0x00, v6 ? 0x57 : 0x21]), ip])];
    }
    case 'ppp':
      return [1, Buffer.concat([macs, Buffer.from([0x88, 0x0b]), pppFrame(ip, v6)])];
    case 'l2tp':
      // As a DSL operator's IPv6: tunnelled in L2TP, itself in PPP over Ethernet.
      return [1, Buffer.concat([macs, Buffer.from([0x88, 0x0b]), pppFrame(l2tpPacket(pppFrame(ip, v6)), false)])];
    case 'vlan':
      return [1, Buffer.concat([macs, tag(0x8100), et, ip])];
    case 'qinq':
      return [1, Buffer.concat([macs, tag(0x88a8), tag(0x8100), et, ip])];
    case 'sll': {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0);
      et.copy(h, 14);
      return [113, Buffer.concat([h, ip])];
    }
    case 'sll2': {
      const h = Buffer.alloc(20);
      et.copy(h, 0);
      return [276, Buffer.concat([h, ip])];
    }
    case 'null': {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(v6 ? 30 : 2);
      return [0, Buffer.concat([h, ip])];
    }
    case 'null6bsd': {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(24);
      return [0, Buffer.concat([h, ip])];
    }
    case 'loop': {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? 24 : 2);
      return [108, Buffer.concat([h, ip])];
    }
    case 'raw':
      return [101, ip];
  }
}

/** A small deterministic PRNG (mulberry32) for fuzz tests with a fixed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A classic pcap file (little-endian, µs stamps unless `ns`, big-endian with `be`). */
export function pcapFile(frames: Array<{ frame: Buffer; ts: number }>, linkType: number, options: { ns?: boolean; be?: boolean } = {}): Buffer {
  const w32 = (b: Buffer, v: number, at: number): void => void (options.be ? b.writeUInt32BE(v >>> 0, at) : b.writeUInt32LE(v >>> 0, at));
  const w16 = (b: Buffer, v: number, at: number): void => void (options.be ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const h = Buffer.alloc(24);
  w32(h, options.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, 262144, 16);
  w32(h, linkType, 20);
  const parts: Buffer[] = [h];
  for (const f of frames) {
    const r = Buffer.alloc(16);
    w32(r, Math.floor(f.ts / 1000), 0);
    w32(r, options.ns ? Math.round((f.ts % 1000) * 1e6) : Math.round((f.ts % 1000) * 1e3), 4);
    w32(r, f.frame.length, 8);
    w32(r, f.frame.length, 12);
    parts.push(r, f.frame);
  }
  return Buffer.concat(parts);
}

/** A pcapng file: one section, the given interfaces (link type, tsresol exponent), enhanced packet blocks. */
export function pcapngFile(ifaces: Array<{ linkType: number; tsresol?: number }>, packets: Array<{ iface: number; frame: Buffer; ts: number }>): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const parts = [block(0x0a0d0d0a, shb)];
  for (const i of ifaces) {
    const opts = i.tsresol === undefined ? Buffer.alloc(0) : Buffer.from([9, 0, 1, 0, i.tsresol, 0, 0, 0, 0, 0, 0, 0]);
    const body = Buffer.concat([Buffer.from([i.linkType & 0xff, i.linkType >> 8, 0, 0, 0, 0, 4, 0]), opts]);
    parts.push(block(1, body));
  }
  for (const p of packets) {
    const unit = ifaces[p.iface]?.tsresol === undefined ? 1e-6 : 10 ** -(ifaces[p.iface]!.tsresol as number);
    const t = BigInt(Math.round(p.ts / 1000 / unit));
    const h = Buffer.alloc(20);
    h.writeUInt32LE(p.iface, 0);
    h.writeUInt32LE(Number(t >> 32n), 4);
    h.writeUInt32LE(Number(t & 0xffffffffn), 8);
    h.writeUInt32LE(p.frame.length, 12);
    h.writeUInt32LE(p.frame.length, 16);
    parts.push(block(6, Buffer.concat([h, p.frame])));
  }
  return Buffer.concat(parts);
}
