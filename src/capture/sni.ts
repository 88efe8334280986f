/**
 * The server name of a TLS ClientHello (the SNI extension), the only name HTTPS shows on the wire.
 * Reads the first handshake record(s) of a client stream; pure and bounded: anything that is not a
 * well-formed ClientHello with a host_name yields undefined.
 */

/** Whether a stream's first bytes look like a TLS handshake record. */
export function looksLikeTls(first: Buffer): boolean {
  return first.length >= 3 && first[0] === 0x16 && first[1] === 0x03 && (first[2] as number) <= 0x04;
}

/**
 * The SNI host name in `data` (the start of a client stream), `null` when the hello is complete and has
 * none, or undefined when more bytes are needed (or it is not a ClientHello at all: see `looksLikeTls`).
 */
export function clientHelloSni(data: Buffer): string | null | undefined {
  // One handshake message may span records: gather record payloads (bounded to 16 KiB + header).
  const hs: Buffer[] = [];
  let at = 0;
  let have = 0;
  while (at + 5 <= data.length && data[at] === 0x16 && have < 4 + 16384) {
    const len = data.readUInt16BE(at + 3);
    if (at + 5 + len > data.length) {
      hs.push(data.subarray(at + 5));
      have += data.length - at - 5;
      at = data.length;
      break;
    }
    hs.push(data.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
  }
  const msg = Buffer.concat(hs);
  if (msg.length < 4) return undefined;
  if (msg[0] !== 0x01) return null; // not a ClientHello
  const bodyLen = msg.readUIntBE(1, 3);
  if (msg.length < 4 + bodyLen) return bodyLen > 16384 * 4 ? null : undefined;
  return sniOf(msg.subarray(4, 4 + bodyLen));
}

function sniOf(b: Buffer): string | null {
  let p = 2 + 32; // version, random
  if (p + 1 > b.length) return null;
  p += 1 + (b[p] as number); // session id
  if (p + 2 > b.length) return null;
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p + 1 > b.length) return null;
  p += 1 + (b[p] as number); // compression methods
  if (p + 2 > b.length) return null;
  const extEnd = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = b.subarray(p + 4, Math.min(extEnd, p + 4 + len));
    if (type === 0 && body.length >= 5) {
      // server_name_list: list length, then (type 0 = host_name, length, name)
      let q = 2;
      while (q + 3 <= body.length) {
        const nameType = body[q] as number;
        const nameLen = body.readUInt16BE(q + 1);
        const name = body.subarray(q + 3, q + 3 + nameLen);
        if (nameType === 0 && name.length === nameLen && nameLen > 0 && nameLen <= 253 && /^[A-Za-z0-9._-]+$/.test(name.toString('latin1'))) return name.toString('latin1').toLowerCase();
        q += 3 + nameLen;
      }
      return null;
    }
    p += 4 + len;
  }
  return null;
}
