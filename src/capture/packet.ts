/**
 * From a captured frame to a TCP segment: the link layers libpcap hands us (Ethernet with VLAN tags,
 * Linux cooked v1 and v2, raw IP, BSD loopback), IPv4 and IPv6 (extension headers skipped), TCP. Pure
 * and defensive: a frame that is truncated, malformed or not TCP yields undefined (the caller counts
 * it), never a throw. The payload is a view into `frame`: copy it to keep it (libpcap reuses the buffer).
 */

/** libpcap link types (LINKTYPE_* of pcap files, DLT_* of live captures). */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family, host byte order
  ETHERNET: 1,
  RAW_12: 12, // DLT_RAW on most systems
  RAW_14: 14, // DLT_RAW on OpenBSD
  RAW: 101, // LINKTYPE_RAW in files
  LOOP: 108, // OpenBSD loopback: address family, network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface TcpSegment {
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  /** The bytes captured (a view into the frame). */
  payload: Buffer;
  /** The payload's real length, by the IP header: more than `payload.length` when the capture cut the frame short (snap length). */
  length: number;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** PPP straight over Ethernet, and a PPPoE session (DSL links). */
const ETHERTYPE_PPP = 0x880b;
const ETHERTYPE_PPPOE = 0x8864;
/** L2TP's UDP port: PPP tunnelled in UDP (a DSL operator's IPv6, for instance). */
const L2TP_PORT = 1701;
const UDP = 17;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
/** BSD address families of IPv6 (they differ by OS). */
const AF_INET6 = new Set([10, 24, 28, 30]);

/** Where the IP header starts in `frame`, and its version; undefined for anything else. */
function ipStart(frame: Buffer, linkType: number): { at: number; version?: 4 | 6 } | undefined {
  switch (linkType) {
    case LinkType.ETHERNET: {
      let at = 12;
      let type = frame.length >= 14 ? frame.readUInt16BE(12) : -1;
      while (VLAN_TAGS.has(type) && frame.length >= at + 6) {
        at += 4;
        type = frame.readUInt16BE(at);
      }
      if (type === ETHERTYPE_PPP) return ppp(frame, at + 2);
      if (type === ETHERTYPE_PPPOE) return ppp(frame, at + 2 + 6); // version/type, code, session id, length
      return type === ETHERTYPE_IPV4 ? { at: at + 2, version: 4 } : type === ETHERTYPE_IPV6 ? { at: at + 2, version: 6 } : undefined;
    }
    case LinkType.LINUX_SLL:
      return frame.length < 16 ? undefined : etherType(frame.readUInt16BE(14), 16);
    case LinkType.LINUX_SLL2:
      return frame.length < 20 ? undefined : etherType(frame.readUInt16BE(0), 20);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (frame.length < 4) return undefined;
      const af = linkType === LinkType.LOOP ? frame.readUInt32BE(0) : Math.min(frame.readUInt32LE(0), frame.readUInt32BE(0));
      return af === 2 ? { at: 4, version: 4 } : AF_INET6.has(af) ? { at: 4, version: 6 } : undefined;
    }
    case LinkType.RAW:
    case LinkType.RAW_12:
    case LinkType.RAW_14:
      return { at: 0 };
    case LinkType.IPV4:
      return { at: 0, version: 4 };
    case LinkType.IPV6:
      return { at: 0, version: 6 };
    default:
      return undefined;
  }
}

/** A PPP frame at `at` (address/control 0xff03 optional, the protocol field compressed or not): where its IP starts. */
function ppp(frame: Buffer, at: number): { at: number; version: 4 | 6 } | undefined {
  if (frame.length >= at + 2 && frame[at] === 0xff && frame[at + 1] === 0x03) at += 2;
  if (frame.length < at + 1) return undefined;
  // An odd first byte is a one-byte (compressed) protocol field.
  const [proto, len] = ((frame[at] as number) & 1) === 1 ? [frame[at] as number, 1] : frame.length >= at + 2 ? [frame.readUInt16BE(at), 2] : [-1, 0];
  return proto === 0x21 ? { at: at + len, version: 4 } : proto === 0x57 ? { at: at + len, version: 6 } : undefined;
}

/** An L2TPv2 data message in a UDP payload at `at`: where its PPP frame's IP starts (control messages: undefined). */
function l2tp(frame: Buffer, at: number): { at: number; version: 4 | 6 } | undefined {
  if (frame.length < at + 6) return undefined;
  const flags = frame.readUInt16BE(at);
  if ((flags & 0x8000) !== 0 || (flags & 0x000f) !== 2) return undefined; // control, or not version 2
  let p = at + 2 + ((flags & 0x4000) !== 0 ? 2 : 0) + 4 + ((flags & 0x0800) !== 0 ? 4 : 0);
  if ((flags & 0x0200) !== 0) {
    if (frame.length < p + 2) return undefined;
    p += 2 + frame.readUInt16BE(p);
  }
  return ppp(frame, p);
}

function etherType(type: number, at: number): { at: number; version: 4 | 6 } | undefined {
  return type === ETHERTYPE_IPV4 ? { at, version: 4 } : type === ETHERTYPE_IPV6 ? { at, version: 6 } : undefined;
}

function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(at + i).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** IPv6 extension headers that may come before TCP (their length field counts 8-byte units). */
const IPV6_EXTENSIONS = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;
const TCP = 6;

/** Where TCP starts and the packet ends, and the addresses, from an IP header at `ip`; undefined if not TCP. */
interface IpInfo {
  tcpAt: number;
  /** Where the captured bytes end. */
  end: number;
  /** Where the packet really ends (beyond `end` when the frame was cut short). */
  realEnd: number;
  src: string;
  dst: string;
}

function ipv4(frame: Buffer, ip: number): IpInfo | { tunnel: { at: number; version: 4 | 6 } | undefined } | undefined {
  if (frame.length < ip + 20) return undefined;
  const ihl = ((frame[ip] as number) & 0x0f) * 4;
  const total = frame.readUInt16BE(ip + 2);
  const fragOffset = frame.readUInt16BE(ip + 6) & 0x1fff;
  if (ihl < 20 || fragOffset !== 0) return undefined;
  if (frame[ip + 9] === UDP && frame.length >= ip + ihl + 8) {
    const udp = ip + ihl;
    if (frame.readUInt16BE(udp) === L2TP_PORT || frame.readUInt16BE(udp + 2) === L2TP_PORT) return { tunnel: l2tp(frame, udp + 8) };
    return undefined;
  }
  if (frame[ip + 9] !== TCP) return undefined;
  // total 0: TSO-offloaded packets captured before segmentation; trust the frame then.
  const realEnd = total === 0 ? frame.length : ip + total;
  return {
    tcpAt: ip + ihl,
    end: Math.min(frame.length, realEnd),
    realEnd,
    src: `${frame[ip + 12]}.${frame[ip + 13]}.${frame[ip + 14]}.${frame[ip + 15]}`,
    dst: `${frame[ip + 16]}.${frame[ip + 17]}.${frame[ip + 18]}.${frame[ip + 19]}`,
  };
}

function ipv6(frame: Buffer, ip: number): IpInfo | undefined {
  if (frame.length < ip + 40) return undefined;
  const payloadLength = frame.readUInt16BE(ip + 4);
  const realEnd = payloadLength === 0 ? frame.length : ip + 40 + payloadLength;
  const end = Math.min(frame.length, realEnd);
  let next = frame[ip + 6] as number;
  let at = ip + 40;
  while (IPV6_EXTENSIONS.has(next) || next === IPV6_FRAGMENT) {
    if (end < at + 8) return undefined;
    if (next === IPV6_FRAGMENT && (frame.readUInt16BE(at + 2) & 0xfff8) !== 0) return undefined; // a later fragment
    const len = next === IPV6_FRAGMENT ? 8 : ((frame[at + 1] as number) + 1) * 8;
    next = frame[at] as number;
    at += len;
  }
  if (next !== TCP) return undefined;
  return { tcpAt: at, end, realEnd, src: ipv6Text(frame, ip + 8), dst: ipv6Text(frame, ip + 24) };
}

/** The TCP segment in a frame, or undefined (not TCP, a later IP fragment, truncated, malformed). */
export function decodeTcp(frame: Buffer, linkType: number): TcpSegment | undefined {
  return decodeAt(frame, ipStart(frame, linkType), 0);
}

/** The TCP segment of the IP packet at `start`; through at most two L2TP tunnels. */
function decodeAt(frame: Buffer, start: { at: number; version?: 4 | 6 } | undefined, depth: number): TcpSegment | undefined {
  if (!start || frame.length < start.at + 1) return undefined;
  const version = start.version ?? ((frame[start.at] as number) >> 4);
  const found = version === 4 ? ipv4(frame, start.at) : version === 6 ? ipv6(frame, start.at) : undefined;
  if (found && 'tunnel' in found) return depth < 2 ? decodeAt(frame, found.tunnel, depth + 1) : undefined;
  const info = found;
  if (!info) return undefined;
  const { tcpAt, end, realEnd } = info;
  if (end < tcpAt + 20) return undefined;
  const dataAt = tcpAt + ((frame[tcpAt + 12] as number) >> 4) * 4;
  if (dataAt < tcpAt + 20 || dataAt > end) return undefined;
  const flags = frame[tcpAt + 13] as number;
  return {
    family: version as 4 | 6,
    src: info.src,
    dst: info.dst,
    srcPort: frame.readUInt16BE(tcpAt),
    dstPort: frame.readUInt16BE(tcpAt + 2),
    seq: frame.readUInt32BE(tcpAt + 4),
    ack: frame.readUInt32BE(tcpAt + 8),
    syn: (flags & 0x02) !== 0,
    fin: (flags & 0x01) !== 0,
    rst: (flags & 0x04) !== 0,
    payload: frame.subarray(dataAt, end),
    length: realEnd - dataAt,
  };
}
