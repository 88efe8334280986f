/** SNI from a real ClientHello: Node's TLS client connects to a plain socket that records its first bytes. */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientHelloSni, looksLikeTls } from '../../../src/capture/sni.js';

async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe('TLS ClientHello SNI', () => {
  it('finds the server name, in a whole hello or only once enough of it arrived', async () => {
    const hello = await clientHello('Video.Example.COM');
    expect(looksLikeTls(hello)).toBe(true);
    expect(clientHelloSni(hello)).toBe('video.example.com');
    expect(clientHelloSni(hello.subarray(0, 40))).toBeUndefined();
  });

  it('none when the client sends no name (an IP address target), and nothing from non-TLS bytes', async () => {
    expect(clientHelloSni(await clientHello(undefined))).toBeNull();
    expect(looksLikeTls(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
    expect(clientHelloSni(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]))).toBeNull();
  });
});
