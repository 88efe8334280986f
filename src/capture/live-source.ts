/**
 * Live capture through libpcap (npm `pcap`, an optional dependency loaded only here, so a project that
 * uses taskq for tasks alone needs neither libpcap nor a compiler). Kept behind this small interface
 * because the package is unmaintained: its buffer is shared between packets (frames are only valid
 * during the callback), an exception in a callback kills the process (so none escapes), and it names
 * only a few link types. Needs CAP_NET_RAW, not root.
 */
import { createRequire } from 'node:module';
import { ExitCode, TaskqError } from '../errors.js';
import { LinkType } from './packet.js';

export interface LiveCaptureOptions {
  /** Interface name (`lo`, `eth0`, `any`). */
  device: string;
  /** BPF filter, e.g. `tcp port 80 or tcp port 8080`. */
  filter?: string;
  /** Bytes kept of each frame (default 262144, libpcap's: loopback frames reach 64 KiB + headers). */
  snapLength?: number;
  /** Kernel buffer (bytes). */
  bufferSize?: number;
  /** Also write every packet to this pcap file (tests compare live and offline reads). */
  dumpTo?: string;
}

export interface LiveSource {
  linkType: number;
  /** Packets the kernel received and dropped (libpcap's counters; on `lo` each packet counts twice). */
  stats(): { received: number; dropped: number };
  close(): void;
}

export const LINK_TYPES: Record<string, number> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
};

export interface PcapModule {
  /** Called by the binding with libpcap's warnings (it prints them to the console by default). */
  warningHandler: (text: string) => void;
  PcapSession: new (live: boolean, device: string, filter: string, bufferSize: number, snapLength: number, outfile: string | null, monitor: boolean, bufferTimeout: number, promiscuous: boolean) => PcapSession;
}
export interface PcapSession {
  link_type: string;
  on(event: 'packet', fn: (p: { buf: Buffer; header: Buffer }) => void): void;
  on(event: 'complete', fn: () => void): void;
  stats(): { ps_recv: number; ps_drop: number };
  close(): void;
}

export function loadPcap(): PcapModule {
  try {
    return createRequire(import.meta.url)('pcap') as PcapModule;
  } catch (cause) {
    throw new TaskqError(
      'TASKQ_CAPTURE_UNAVAILABLE',
      `live capture needs the optional package pcap and libpcap (${(cause as Error).message.split('\n')[0]}): install libpcap-dev and a compiler (apt-get install libpcap-dev g++ make), then npm install pcap`,
      { cause, exitCode: ExitCode.unavailable },
    );
  }
}

/** Starts capturing; `onFrame` gets each frame (a view valid during the call), its link type and time. */
export function openLive(options: LiveCaptureOptions, onFrame: (frame: Buffer, linkType: number, ts: number) => void, onError: (err: Error) => void = () => {}): LiveSource {
  const pcap = loadPcap();
  const warnings: string[] = [];
  pcap.warningHandler = (text) => void warnings.push(text);
  let session: PcapSession;
  try {
    session = new pcap.PcapSession(true, options.device, options.filter ?? '', options.bufferSize ?? 16 << 20, options.snapLength ?? 262144, options.dumpTo ?? null, false, 100, false);
  } catch (cause) {
    const msg = [(cause as Error).message, ...warnings].join('; ');
    const perm = /permission|not permitted|socket: Operation/i.test(msg);
    throw new TaskqError(
      'TASKQ_CAPTURE_FAILED',
      perm
        ? `cannot capture on ${options.device}: ${msg}. Capturing needs CAP_NET_RAW: run as root, give node the capability (setcap cap_net_raw+ep "$(readlink -f "$(command -v node)")"), or under systemd AmbientCapabilities=CAP_NET_RAW`
        : `cannot capture on ${options.device}: ${msg}. Check the interface name (ip link) and the filter${options.filter ? ` (${options.filter})` : ''}`,
      { cause, exitCode: perm ? ExitCode.noPerm : ExitCode.unavailable },
    );
  }
  const linkType = LINK_TYPES[session.link_type];
  if (linkType === undefined) {
    session.close();
    throw new TaskqError('TASKQ_CAPTURE_FAILED', `cannot capture on ${options.device}: link type ${session.link_type} is not one taskq reads`, { exitCode: ExitCode.unavailable });
  }
  session.on('packet', (p) => {
    try {
      const caplen = p.header.readUInt32LE(8);
      const ts = p.header.readUInt32LE(0) * 1000 + p.header.readUInt32LE(4) / 1000;
      onFrame(p.buf.subarray(0, caplen), linkType, ts);
    } catch (err) {
      onError(err as Error); // never into libpcap's callback: node_pcap turns it into a fatal exception
    }
  });
  let closed = false;
  return {
    linkType,
    stats: () => {
      const s = session.stats();
      return { received: s.ps_recv, dropped: s.ps_drop };
    },
    close: () => {
      if (closed) return;
      closed = true;
      session.close();
    },
  };
}
