import { describe, expect, it } from 'vitest';
import { RequestParser, type RequestHead } from '../../../src/capture/http1-parser.js';
import { prng } from '../../helpers/frames.js';

function parse(chunks: string[], options: { midstream?: boolean; maxHeadBytes?: number } = {}): { heads: RequestHead[]; parser: RequestParser } {
  const heads: RequestHead[] = [];
  const parser = new RequestParser((h) => heads.push(h), options);
  for (const c of chunks) parser.data(Buffer.from(c, 'latin1'));
  return { heads, parser };
}

const GET = 'GET /video/a.mp4 HTTP/1.1\r\nHost: media.example\r\nRange: bytes=0-1023\r\nUser-Agent: test\r\n\r\n';

describe('HTTP/1 request heads from a client stream', () => {
  it('a head split at every possible byte gives the same request', () => {
    for (let cut = 1; cut < GET.length; cut++) {
      const { heads } = parse([GET.slice(0, cut), GET.slice(cut)]);
      expect(heads).toEqual([{ method: 'GET', target: '/video/a.mp4', version: '1.1', headers: { host: 'media.example', range: 'bytes=0-1023', 'user-agent': 'test' } }]);
    }
  });

  it('pipelined and keep-alive requests, bodies skipped by Content-Length and chunked coding (a body that looks like a request is not one)', () => {
    const post = 'POST /upload HTTP/1.1\r\nhost: h\r\nContent-Length: 27\r\n\r\nGET /not-a-request HTTP/1.1';
    const chunked = 'PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n1a;ext=1\r\n HTTP/1.1\r\nHost: x\r\n\r\n.\r\n0\r\nTrailer: t\r\n\r\n';
    const all = GET + post.slice(0, -1) + post.slice(-1) + chunked + 'HEAD /last HTTP/1.0\r\n\r\n';
    for (const chunks of [[all], all.match(/[\s\S]{1,7}/g) as string[]]) {
      const { heads } = parse(chunks);
      expect(heads.map((h) => `${h.method} ${h.target}`)).toEqual(['GET /video/a.mp4', 'POST /upload', 'PUT /c', 'HEAD /last']);
      expect(heads[3]?.version).toBe('1.0');
    }
  });

  it('a stream picked up mid-way, garbage, or a gap: the next request line resumes it', () => {
    expect(parse(['y: 1\r\n\r\nsome body bytes\r\n' + GET], { midstream: true }).heads.map((h) => h.target)).toEqual(['/video/a.mp4']);
    const { heads, parser } = parse(['\x00\x01binary junk ' + GET]);
    expect(heads.map((h) => h.target)).toEqual(['/video/a.mp4']);
    expect(parser.counters.skippedBytes).toBeGreaterThan(0);
    const p = parse([GET.slice(0, 20)]);
    p.parser.gap();
    p.parser.data(Buffer.from('tail of something\r\n' + GET, 'latin1'));
    expect(p.heads.map((h) => h.target)).toEqual(['/video/a.mp4']);
  });

  it('header names in any case; CONNECT ends the HTTP part of the stream; heads over the cap are dropped and counted', () => {
    expect(parse(['GET / HTTP/1.1\r\nHOST: A\r\nhOsT: second\r\n\r\n']).heads[0]?.headers).toEqual({ host: 'A' });
    expect(parse(['CONNECT media.example:443 HTTP/1.1\r\nHost: media.example:443\r\n\r\n\x16\x03\x01 tls bytes GET / HTTP/1.1\r\n\r\n']).heads.map((h) => h.method)).toEqual(['CONNECT']);
    const big = parse(['GET /' + 'a'.repeat(70_000) + ' HTTP/1.1\r\n\r\n' + GET], { maxHeadBytes: 64 * 1024 });
    expect(big.heads.map((h) => h.target)).toEqual(['/video/a.mp4']);
    expect(big.parser.counters.oversizedHeads).toBe(1);
  });

  it('fuzz: random bytes and random request fragments never throw; buffered bytes stay bounded (fixed seed)', () => {
    const rand = prng(7);
    const heads: RequestHead[] = [];
    const parser = new RequestParser((h) => heads.push(h), { maxHeadBytes: 4096 });
    for (let i = 0; i < 5_000; i++) {
      const n = Math.floor(rand() * 200);
      const b = rand() < 0.3 ? Buffer.from(GET.slice(0, n), 'latin1') : Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
      expect(() => parser.data(b)).not.toThrow();
      if (rand() < 0.01) parser.gap();
      expect((parser as unknown as { buf: Buffer }).buf.length).toBeLessThanOrEqual(4096 + 200);
    }
  });
});
