/** Frames to observations: whole conversations, as a capture would see them. */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { FlowTracker } from '../../../src/capture/flow-tracker.js';
import type { Observation } from '../../../src/capture/observation.js';
import { frame, type SegmentSpec } from '../../helpers/frames.js';

function track(frames: Array<[number, Buffer]>, options: Partial<ConstructorParameters<typeof FlowTracker>[0]> = {}): { seen: Observation[]; tracker: FlowTracker } {
  const seen: Observation[] = [];
  const tracker = new FlowTracker({ onObservation: (o) => seen.push(o), ...options });
  frames.forEach(([type, f], i) => tracker.push(f, type, 1000 + i));
  tracker.close(); // requests still waiting for a response go out
  return { seen, tracker };
}

/** A client's conversation with a server: SYN, then its data in the given pieces (seq relative). */
function conversation(c: string, s: string, cport: number, sport: number, pieces: Array<[number, string]>, link: Parameters<typeof frame>[1] = 'ethernet'): Array<[number, Buffer]> {
  const base: Omit<SegmentSpec, 'seq'> = { src: c, dst: s, sport: cport, dport: sport };
  return [frame({ ...base, seq: 999, flags: { syn: true }, payload: '' }, link), ...pieces.map(([off, data]) => frame({ ...base, seq: 1000 + off, payload: data }, link))];
}

/** The server's side: its SYN-ACK, then `data`. */
function reply(s: string, c: string, sport: number, cport: number, data: string): Array<[number, Buffer]> {
  const base = { src: s, dst: c, sport, dport: cport };
  return [frame({ ...base, seq: 6999, flags: { syn: true }, payload: '' }), frame({ ...base, seq: 7000, payload: data })];
}

describe('flow tracker', () => {
  it('requests split over segments, out of order, retransmitted, pipelined; the response direction is not read as requests', () => {
    const r1 = 'GET /v/movie.mp4 HTTP/1.1\r\nHost: media.local:8080\r\nRange: bytes=0-\r\nCookie: secret\r\n\r\n';
    const r2 = 'GET /v/movie.mp4 HTTP/1.1\r\nHost: media.local:8080\r\nRange: bytes=1000-\r\n\r\n';
    const frames = conversation('10.1.1.1', '10.1.1.2', 40001, 8080, [[10, r1.slice(10) + r2], [0, r1.slice(0, 10)], [0, r1.slice(0, 10)]]);
    frames.push(...reply('10.1.1.2', '10.1.1.1', 8080, 40001, 'HTTP/1.1 206 Partial Content\r\nContent-Length: 17\r\n\r\nGET /x HTTP/1.1\r\n'));
    const { seen, tracker } = track(frames);
    expect(seen).toEqual([
      { kind: 'http', ts: 1002, src: '10.1.1.1:40001', dst: '10.1.1.2:8080', host: 'media.local', url: 'http://media.local:8080/v/movie.mp4', method: 'GET', headers: { range: 'bytes=0-' }, response: { status: 206, contentLength: 17 } },
      { kind: 'http', ts: 1002, src: '10.1.1.1:40001', dst: '10.1.1.2:8080', host: 'media.local', url: 'http://media.local:8080/v/movie.mp4', method: 'GET', headers: { range: 'bytes=1000-' } },
    ]);
    expect(tracker.counters).toMatchObject({ packets: 6, requests: 2, notTcp: 0, responses: 1 });
  });

  it('responses pair with their requests in order: 100 Continue skipped, HEAD has no body, a pipelined answer to each', () => {
    const reqs = 'HEAD /a.mp4 HTTP/1.1\r\nHost: h\r\n\r\nGET /b.m3u8 HTTP/1.1\r\nHost: h\r\n\r\nGET /c.ts HTTP/1.1\r\nHost: h\r\n\r\n';
    const resps = 'HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 999999\r\n\r\n' +
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n#EXTM\r\n0\r\n\r\n' +
      'HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp2t\r\nContent-Range: bytes 0-3/4\r\nContent-Length: 4\r\n\r\nabcd';
    const frames = conversation('10.2.0.1', '10.2.0.2', 40010, 80, [[0, reqs]]);
    frames.push(...reply('10.2.0.2', '10.2.0.1', 80, 40010, resps));
    const { seen } = track(frames);
    expect(seen.map((o) => [o.url, o.response])).toEqual([
      ['http://h/a.mp4', { status: 200, contentType: 'video/mp4', contentLength: 999999 }],
      ['http://h/b.m3u8', { status: 200, contentType: 'application/vnd.apple.mpegurl' }],
      ['http://h/c.ts', { status: 206, contentType: 'video/mp2t', contentLength: 4, contentRange: 'bytes 0-3/4' }],
    ]);
  });

  it('IPv6 on Linux cooked v2, HTTP/1.0 without Host, CONNECT, a hostile request counted not sent', () => {
    const v6 = conversation('2001:db8::1', '2001:db8::2', 40002, 80, [[0, 'GET /old.flv HTTP/1.0\r\n\r\nCONNECT cdn.example:443 HTTP/1.1\r\nHost: cdn.example:443\r\n\r\n']], 'sll2');
    const bad = conversation('10.0.0.1', '10.0.0.2', 40003, 80, [[0, 'GET ftp://x/y HTTP/1.1\r\nHost: x\r\n\r\n']]);
    const { seen, tracker } = track([...v6, ...bad]);
    // CONNECT goes out at once; the request waits for a response that never comes, until the end.
    expect(seen.map((o) => [o.kind, o.url ?? o.host, o.src])).toEqual([
      ['connect', 'cdn.example', '[2001:db8::1]:40002'],
      ['http', 'http://[2001:db8::2]/old.flv', '[2001:db8::1]:40002'],
    ]);
    expect(tracker.counters.badRequests).toBe(1);
  });

  it('a stream picked up mid-way towards a server port is read from its next request; one from a server port is not', () => {
    const toServer = [frame({ src: '10.0.0.9', dst: '10.0.0.8', sport: 50000, dport: 80, seq: 77, payload: '...tail of a body\r\nGET /later.ts HTTP/1.1\r\nHost: h\r\n\r\n' })];
    const fromServer = [frame({ src: '10.0.0.8', dst: '10.0.0.9', sport: 80, dport: 50000, seq: 5, payload: 'body bytes GET /fake HTTP/1.1\r\n\r\n' })];
    expect(track([...toServer, ...fromServer]).seen.map((o) => o.url)).toEqual(['http://h/later.ts']);
  });

  it('HTTP/2 with prior knowledge, and a server greeting first (SMTP-like), are not read as requests', () => {
    const h2 = conversation('10.3.0.1', '10.3.0.2', 40200, 80, [[0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12GET /x HTTP/1.1\r\nHost: h\r\n\r\n']]);
    const { seen, tracker } = track(h2);
    expect(seen).toEqual([]);
    expect(tracker.counters.requests).toBe(0);
  });

  it('TLS: the ClientHello server name, from a real hello split over segments', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
    const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'video.example.org', rejectUnauthorized: false });
    client.on('error', () => {});
    const hello = (await got).toString('latin1');
    client.destroy();
    server.close();
    const { seen } = track(conversation('10.0.0.5', '10.0.0.6', 40100, 443, [[0, hello.slice(0, 50)], [50, hello.slice(50)]]));
    expect(seen).toEqual([{ kind: 'tls', ts: 1002, src: '10.0.0.5:40100', dst: '10.0.0.6:443', host: 'video.example.org' }]);
  });
});
