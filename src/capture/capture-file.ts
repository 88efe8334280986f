/**
 * Capture files, read in JavaScript (node_pcap's libpcap binding refuses link types it does not name,
 * Linux cooked v2 among them): classic pcap (either byte order, micro- or nanosecond stamps) and
 * pcapng (section headers of either byte order, interfaces with their own link type and timestamp
 * resolution, enhanced, simple and obsolete packet blocks; other blocks skipped). Fed in chunks of any
 * size; bounded (a block claiming more than 64 MiB is corrupt). A file that is neither, or that breaks
 * off, is an error naming the offset.
 */

export interface FileFrame {
  frame: Buffer;
  linkType: number;
  /** Capture time, ms since the epoch (fractional). */
  ts: number;
}

export class CaptureFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFileError';
  }
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const MAX_BLOCK = 64 << 20;

interface Iface {
  linkType: number;
  /** Seconds per timestamp unit. */
  unit: number;
}

export class CaptureFileReader {
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;
  private format: 'pcap' | 'pcapng' | undefined;
  private le = true;
  private pcapLink = 0;
  private pcapUnit = 1e-6;
  private ifaces: Iface[] = [];

  /** Adds bytes; returns the frames they complete. */
  push(chunk: Buffer): FileFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: FileFrame[] = [];
    for (;;) {
      const known = this.format !== undefined;
      const used = !known ? this.header() : this.format === 'pcap' ? this.pcapRecord(out) : this.pcapngBlock(out);
      if (used === 0 && (known || this.format === undefined)) break;
      this.buf = this.buf.subarray(used);
      this.offset += used;
    }
    return out;
  }

  /** The file ended: an unfinished record is an error. */
  end(): void {
    if (this.format === undefined) throw new CaptureFileError(this.buf.length ? 'not a pcap or pcapng file (unknown magic number)' : 'empty file');
    if (this.buf.length) throw new CaptureFileError(`the file breaks off inside a record at byte ${this.offset} (${this.buf.length} bytes left over)`);
  }

  private u32(at: number): number {
    return this.le ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at);
  }

  private u16(at: number): number {
    return this.le ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at);
  }

  private header(): number {
    if (this.buf.length < 24) {
      if (this.buf.length >= 4 && !this.knownMagic()) throw new CaptureFileError('not a pcap or pcapng file (unknown magic number)');
      return 0;
    }
    if (!this.knownMagic()) throw new CaptureFileError('not a pcap or pcapng file (unknown magic number)');
    if (this.buf.readUInt32LE(0) === PCAPNG_SHB) {
      this.format = 'pcapng';
      return 0; // the section header is a block like the others
    }
    const magic = this.buf.readUInt32LE(0);
    this.le = magic === PCAP_US || magic === PCAP_NS;
    const m = this.u32(0);
    this.pcapUnit = m === PCAP_NS ? 1e-9 : 1e-6;
    this.pcapLink = this.u32(20) & 0x0fffffff;
    this.format = 'pcap';
    return 24;
  }

  private knownMagic(): boolean {
    const le = this.buf.readUInt32LE(0);
    const be = this.buf.readUInt32BE(0);
    return le === PCAPNG_SHB || [PCAP_US, PCAP_NS].includes(le) || [PCAP_US, PCAP_NS].includes(be);
  }

  private pcapRecord(out: FileFrame[]): number {
    if (this.buf.length < 16) return 0;
    const caplen = this.u32(8);
    if (caplen > MAX_BLOCK) throw new CaptureFileError(`a record at byte ${this.offset} claims ${caplen} bytes: the file is corrupt`);
    if (this.buf.length < 16 + caplen) return 0;
    const ts = this.u32(0) * 1000 + this.u32(4) * this.pcapUnit * 1000;
    out.push({ frame: this.buf.subarray(16, 16 + caplen), linkType: this.pcapLink, ts });
    return 16 + caplen;
  }

  private pcapngBlock(out: FileFrame[]): number {
    if (this.buf.length < 12) return 0;
    const rawType = this.buf.readUInt32LE(0);
    if (rawType === PCAPNG_SHB) {
      // The byte order of this section is in its byte-order magic.
      if (this.buf.length < 12) return 0;
      const bom = this.buf.readUInt32LE(8);
      if (bom !== PCAPNG_BOM && this.buf.readUInt32BE(8) !== PCAPNG_BOM) throw new CaptureFileError(`a pcapng section at byte ${this.offset} has no valid byte-order magic`);
      this.le = bom === PCAPNG_BOM;
      this.ifaces = [];
    }
    const type = this.u32(0);
    const len = this.u32(4);
    if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) throw new CaptureFileError(`a pcapng block at byte ${this.offset} has an impossible length ${len}: the file is corrupt`);
    if (this.buf.length < len) return 0;
    if (type === 1) this.interface(len);
    else if (type === 6) this.enhanced(len, out);
    else if (type === 3) {
      const iface = this.ifaces[0];
      if (iface) out.push({ frame: this.buf.subarray(12, Math.min(12 + this.u32(8), len - 4)), linkType: iface.linkType, ts: 0 });
    } else if (type === 2) this.obsolete(len, out);
    return len;
  }

  private interface(len: number): void {
    const iface: Iface = { linkType: this.u16(8), unit: 1e-6 };
    // Options: if_tsresol (code 9) says the timestamp unit.
    for (let p = 16; p + 4 <= len - 4; ) {
      const code = this.u16(p);
      const olen = this.u16(p + 2);
      if (code === 0) break;
      if (code === 9 && olen >= 1) {
        const v = this.buf[p + 4] as number;
        iface.unit = v & 0x80 ? 2 ** -(v & 0x7f) : 10 ** -(v & 0x7f);
      }
      p += 4 + Math.ceil(olen / 4) * 4;
    }
    this.ifaces.push(iface);
  }

  private stamp(iface: Iface, high: number, low: number): number {
    return (high * 2 ** 32 + low) * iface.unit * 1000;
  }

  private enhanced(len: number, out: FileFrame[]): void {
    const iface = this.ifaces[this.u32(8)];
    if (!iface) throw new CaptureFileError(`a packet at byte ${this.offset} names interface ${this.u32(8)}, which no interface block described`);
    const caplen = this.u32(20);
    out.push({ frame: this.buf.subarray(28, Math.min(28 + caplen, len - 4)), linkType: iface.linkType, ts: this.stamp(iface, this.u32(12), this.u32(16)) });
  }

  private obsolete(len: number, out: FileFrame[]): void {
    const iface = this.ifaces[this.u16(8)];
    if (!iface) return;
    const caplen = this.u32(20);
    out.push({ frame: this.buf.subarray(28, Math.min(28 + caplen, len - 4)), linkType: iface.linkType, ts: this.stamp(iface, this.u32(12), this.u32(16)) });
  }
}
