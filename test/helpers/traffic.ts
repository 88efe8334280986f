/**
 * Real HTTP traffic on lo, captured to a pcap file by libpcap while it flows: a local origin (IPv4 and
 * IPv6) and clients that exercise what a URL sniffer must handle — keep-alive with Range requests,
 * heads split over several segments, pipelining, HTTP/1.0 without Host, request bodies that contain
 * request-like text, chunked bodies. Returns the file and the URLs requested, in order.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Agent, createServer, get, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openLive } from '../../src/capture/live-source.js';

const BODY = Buffer.alloc(32 * 1024, 1);

async function listen(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': BODY.length }).end(BODY));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Writes `parts` to a raw socket as separate segments (Nagle off, a pause between), reads until `responses` bodies came. */
async function raw(host: string, port: number, parts: string[], responses: number): Promise<void> {
  const s: Socket = connect({ host, port, noDelay: true });
  s.setTimeout(10_000, () => s.destroy(new Error(`no full answer from ${host}:${port} within 10 s`)));
  await once(s, 'connect');
  let got = '';
  const done = new Promise<void>((resolve, reject) => {
    s.on('error', reject);
    s.on('close', () => reject(new Error(`${host}:${port} closed after ${(got.match(/HTTP\/1\.1 \d+/g) ?? []).join(', ')}`)));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if ((got.match(/HTTP\/1\.1 200/g) ?? []).length >= responses && got.length >= responses * BODY.length) resolve();
    });
  });
  for (const p of parts) {
    s.write(p);
    await sleep(15); // a separate segment each: the point of this traffic
  }
  await done;
  s.destroy();
}

function fetch(url: string, agent: Agent, range?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { agent, headers: range ? { range } : {} }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

export async function recordTraffic(rounds = 1): Promise<{ file: string; urls: string[]; ports: number[] }> {
  const v4 = await listen('127.0.0.1');
  const v6 = await listen('::1');
  const file = `${mkdtempSync(`${tmpdir()}/taskq-traffic-`)}/lo.pcap`;
  const source = openLive({ device: 'lo', filter: `tcp port ${v4.port} or tcp port ${v6.port}`, dumpTo: file }, () => {});
  await sleep(200); // libpcap's filter is live once the session is open; a short grace for the first packets
  const urls: string[] = [];
  const a = `http://127.0.0.1:${v4.port}`;
  try {
    for (let r = 0; r < rounds; r++) {
      const agent = new Agent({ keepAlive: true });
      for (let i = 0; i < 3; i++) {
        urls.push(`${a}/keep/alive.mp4?r=${r}&i=${i}`);
        await fetch(urls.at(-1) as string, agent, `bytes=${i * 100}-`);
      }
      urls.push(`http://[::1]:${v6.port}/six/clip.webm?r=${r}`);
      await fetch(urls.at(-1) as string, agent);
      agent.destroy();
      const split = `GET /split/head.mp4?r=${r} HTTP/1.1\r\nHost: 127.0.0.1:${v4.port}\r\nUser-Agent: slow\r\n\r\n`;
      urls.push(`${a}/split/head.mp4?r=${r}`);
      await raw('127.0.0.1', v4.port, [split.slice(0, 7), split.slice(7, 40), split.slice(40)], 1);
      const pipe = [1, 2, 3].map((i) => `GET /pipe/${i}.ts?r=${r} HTTP/1.1\r\nHost: 127.0.0.1:${v4.port}\r\n\r\n`).join('');
      urls.push(...[1, 2, 3].map((i) => `${a}/pipe/${i}.ts?r=${r}`));
      await raw('127.0.0.1', v4.port, [pipe], 3);
      const fake = 'GET /not/a/request HTTP/1.1\r\n\r\n'; // a body that reads like a request
      const post = `POST /upload?r=${r} HTTP/1.1\r\nHost: 127.0.0.1:${v4.port}\r\nContent-Length: ${fake.length}\r\n\r\n${fake}GET /after/post.mp4?r=${r} HTTP/1.1\r\nHost: 127.0.0.1:${v4.port}\r\n\r\n`;
      urls.push(`${a}/upload?r=${r}`, `${a}/after/post.mp4?r=${r}`);
      await raw('127.0.0.1', v4.port, [post], 2);
      const chunk = 'GET /x HTTP/1.1\r\n';
      const chunked = `PUT /chunked?r=${r} HTTP/1.1\r\nHost: 127.0.0.1:${v4.port}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
      urls.push(`${a}/chunked?r=${r}`);
      await raw('127.0.0.1', v4.port, [chunked], 1);
      // HTTP/1.0 without a Host header: the URL names the server's address, as tshark's full_uri does.
      urls.push(`${a}/old/client.mp4?r=${r}`);
      await raw('127.0.0.1', v4.port, [`GET /old/client.mp4?r=${r} HTTP/1.0\r\n\r\n`], 1);
    }
    await sleep(300); // the last packets through libpcap's buffer (100 ms timeout) before the dump closes
  } finally {
    source.close();
    v4.server.close();
    v6.server.close();
  }
  return { file, urls, ports: [v4.port, v6.port] };
}
