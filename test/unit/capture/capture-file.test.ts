import { describe, expect, it } from 'vitest';
import { CaptureFileReader, type FileFrame } from '../../../src/capture/capture-file.js';
import { frame, pcapFile, pcapngFile, prng } from '../../helpers/frames.js';

const seg = (seq: number) => ({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, seq, payload: `p${seq}` });
const T0 = Date.parse('2026-11-30T12:00:00.000Z');

function readAll(file: Buffer, chunk: number): FileFrame[] {
  const r = new CaptureFileReader();
  const out: FileFrame[] = [];
  for (let i = 0; i < file.length; i += chunk) out.push(...r.push(file.subarray(i, i + chunk)).map((f) => ({ ...f, frame: Buffer.from(f.frame) })));
  r.end();
  return out;
}

describe('capture files', () => {
  it('classic pcap: either byte order, micro- or nanosecond stamps, fed in chunks of any size', () => {
    const frames = [0, 1, 2].map((i) => ({ frame: frame(seg(i), 'ethernet')[1], ts: T0 + i * 1.5 }));
    for (const options of [{}, { ns: true }, { be: true }, { be: true, ns: true }]) {
      const file = pcapFile(frames, 1, options);
      for (const chunk of [1, 7, file.length]) {
        const got = readAll(file, chunk);
        expect(got.map((f) => [f.linkType, f.frame.equals(frames[got.indexOf(f)]!.frame)])).toEqual([[1, true], [1, true], [1, true]]);
        expect(got.map((f) => f.ts - T0)).toEqual([0, 1.5, 3]);
      }
    }
  });

  it('pcapng: interfaces with their own link types and timestamp resolutions', () => {
    const eth = frame(seg(1), 'ethernet')[1];
    const sll2 = frame(seg(2), 'sll2')[1];
    const file = pcapngFile([{ linkType: 1 }, { linkType: 276, tsresol: 9 }], [
      { iface: 0, frame: eth, ts: T0 + 0.25 },
      { iface: 1, frame: sll2, ts: T0 + 0.000125 + 2 },
    ]);
    for (const chunk of [1, 5, file.length]) {
      const got = readAll(file, chunk);
      expect(got.map((f) => f.linkType)).toEqual([1, 276]);
      expect(got[0]!.frame.equals(eth) && got[1]!.frame.equals(sll2)).toBe(true);
      expect(got[0]!.ts - T0).toBeCloseTo(0.25, 3);
      expect(got[1]!.ts - T0).toBeCloseTo(2.000125, 3);
    }
  });

  it('random bytes, a truncated file, an absurd length: errors that say so, never a hang or a crash', () => {
    const rand = prng(9);
    const junk = Buffer.from(Array.from({ length: 1000 }, () => Math.floor(rand() * 256)));
    expect(() => readAll(junk, 100)).toThrow('not a pcap or pcapng file (unknown magic number)');
    const file = pcapFile([{ frame: frame(seg(1))[1], ts: T0 }], 1);
    expect(() => readAll(file.subarray(0, file.length - 3), 10)).toThrow(/the file breaks off inside a record at byte 24/);
    const bad = Buffer.from(file);
    bad.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(() => readAll(bad, 10)).toThrow(/claims 2147483647 bytes: the file is corrupt/);
    expect(() => readAll(Buffer.alloc(0), 10)).toThrow('empty file');
  });
});
