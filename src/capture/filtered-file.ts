/**
 * `taskq capture --read FILE --filter BPF`: a capture file read through libpcap, which compiles and
 * applies the BPF filter (the JavaScript reader has none). libpcap reads pcap and pcapng; node_pcap
 * names only some link types (Ethernet, Linux cooked v1, raw IP, BSD loopback): others are an error
 * saying to read without a filter.
 */
import { CaptureFileError } from './capture-file.js';
import { LINK_TYPES, loadPcap } from './live-source.js';

export function readFiltered(path: string, filter: string, onFrame: (frame: Buffer, linkType: number, ts: number) => void): Promise<void> {
  const pcap = loadPcap();
  const warnings: string[] = [];
  pcap.warningHandler = (text) => void warnings.push(text);
  let session;
  try {
    session = new pcap.PcapSession(false, path, filter, 0, 65535, null, false, 0, false);
  } catch (err) {
    const msg = [(err as Error).message, ...warnings].join('; ');
    if (/linktype/i.test(msg)) throw new CaptureFileError(`${msg}: libpcap (used for --filter) cannot hand this link type over; read it without --filter`);
    throw new CaptureFileError(`${msg} (with the filter: ${filter}; see man pcap-filter)`);
  }
  const linkType = LINK_TYPES[session.link_type] as number;
  const s = session;
  return new Promise((resolve, reject) => {
    s.on('packet', (p) => {
      try {
        const caplen = p.header.readUInt32LE(8);
        onFrame(p.buf.subarray(0, caplen), linkType, p.header.readUInt32LE(0) * 1000 + p.header.readUInt32LE(4) / 1000);
      } catch (err) {
        reject(err as Error);
      }
    });
    s.on('complete', () => {
      s.close();
      resolve();
    });
  });
}
