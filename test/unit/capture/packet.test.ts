import { describe, expect, it } from 'vitest';
import { decodeTcp } from '../../../src/capture/packet.js';
import { frame, prng, type Link } from '../../helpers/frames.js';

const v4 = { src: '10.0.0.2', dst: '93.184.216.34', sport: 51000, dport: 80, seq: 1000, payload: 'GET / HTTP/1.1\r\n' };
const v6 = { ...v4, src: '2001:db8::2', dst: '2001:db8:0:1::80' };

describe('frames to TCP segments', () => {
  const links: Link[] = ['ethernet', 'vlan', 'qinq', 'sll', 'sll2', 'null', 'loop', 'raw', 'pppoe', 'ppp', 'l2tp'];
  it.each(links)('%s, IPv4 and IPv6', (link) => {
    for (const spec of [v4, v6]) {
      const [type, f] = frame(spec, link);
      expect(decodeTcp(f, type)).toMatchObject({ src: spec.src, dst: spec.dst, srcPort: 51000, dstPort: 80, seq: 1000, syn: false, fin: false });
      expect(decodeTcp(f, type)?.payload.toString('latin1')).toBe('GET / HTTP/1.1\r\n');
    }
  });

  it('BSD loopback with any of the IPv6 address family numbers; IPv6 extension headers are skipped', () => {
    const [type, f] = frame(v6, 'null6bsd');
    expect(decodeTcp(f, type)?.dst).toBe('2001:db8:0:1::80');
    const [t2, withExt] = frame(v6, 'ethernet', { v6ext: true });
    expect(decodeTcp(withExt, t2)?.payload.toString('latin1')).toBe('GET / HTTP/1.1\r\n');
  });

  it('IPv6 payload length comes from the IPv6 header (node_pcap overcounts it), trailing link padding is not payload', () => {
    const [type, f] = frame(v4, 'ethernet');
    const padded = Buffer.concat([f, Buffer.alloc(6)]); // Ethernet minimum-size padding
    expect(decodeTcp(padded, type)?.payload.length).toBe(16);
    const [t6, f6] = frame(v6, 'ethernet');
    expect(decodeTcp(Buffer.concat([f6, Buffer.alloc(14)]), t6)?.payload.length).toBe(16);
  });

  it('flags, and nothing for later fragments, other protocols, unknown link types', () => {
    const [type, syn] = frame({ ...v4, payload: '', flags: { syn: true } });
    expect(decodeTcp(syn, type)).toMatchObject({ syn: true, payload: Buffer.alloc(0) });
    expect(decodeTcp(frame(v4, 'ethernet', { fragmentOffset: 100 })[1], 1)).toBeUndefined();
    const udp = frame(v4)[1];
    udp[14 + 9] = 17;
    expect(decodeTcp(udp, 1)).toBeUndefined();
    expect(decodeTcp(frame(v4)[1], 999)).toBeUndefined();
  });

  it('a truncated frame (snap length) gives what arrived, or nothing; never a throw', () => {
    for (const spec of [v4, v6]) {
      const [type, f] = frame(spec, 'sll');
      for (let n = 0; n <= f.length; n++) {
        const seg = decodeTcp(f.subarray(0, n), type);
        if (seg) {
          expect(spec.payload.startsWith(seg.payload.toString('latin1'))).toBe(true);
          expect(seg.length).toBe(spec.payload.length); // the real length, from the IP header
        }
      }
    }
  });

  it('random bytes of random lengths on every link type: no throw (fixed seed, 20,000 frames)', () => {
    const rand = prng(12345);
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.alloc(Math.floor(rand() * 120));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      if (b.length > 14 && rand() < 0.5) b.writeUInt16BE(rand() < 0.5 ? 0x0800 : 0x86dd, 12);
      expect(() => decodeTcp(b, [0, 1, 101, 108, 113, 228, 229, 276][i % 8] as number)).not.toThrow();
    }
  });
});
