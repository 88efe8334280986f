/**
 * The aria2 client and the download node's aria2c, against a real aria2c and a local origin: the
 * secret stays off the command line, downloads complete (heard over the WebSocket), multicall results
 * come back unwrapped, and a wrong secret, a dead aria2c or a slow answer fail with a clear error
 * instead of hanging.
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Aria2Client, Aria2Error } from '../../../src/download/aria2-client.js';
import { Aria2Daemon } from '../../../src/download/aria2-daemon.js';
import { DOWNLOAD_AGENT } from '../../../src/tasks/own-traffic.js';

const FILE = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));

/** User-Agents the origin saw. */
const agents: string[] = [];

async function origin(): Promise<string> {
  const server = createServer((req, res) => {
    agents.push(req.headers['user-agent'] ?? '');
    if (req.url !== '/video.mp4') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': FILE.length }).end(FILE);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => void server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function daemon(): Promise<{ d: Aria2Daemon; dir: string; state: string }> {
  const root = mkdtempSync(`${tmpdir()}/taskq-aria2-`);
  const d = new Aria2Daemon({ stateDir: `${root}/state`, downloadDir: `${root}/cache/incoming` });
  onTestFinished(() => d.stop());
  await d.start();
  return { d, dir: `${root}/cache/incoming`, state: `${root}/state` };
}

describe('aria2', () => {
  it('the daemon keeps its secret in a 0600 file, not on the command line; a download completes and is heard over the WebSocket', async () => {
    const base = await origin();
    const { d, dir, state } = await daemon();
    expect(statSync(`${state}/aria2.conf`).mode & 0o777).toBe(0o600);
    const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(d.connection!.secret);
    expect(cmdline).toContain('--rpc-listen-all=false');

    const client = new Aria2Client(d.connection!);
    onTestFinished(() => client.close());
    await client.open();
    const done = new Promise<string>((resolve) => client.once('downloadComplete', resolve));
    const gid = await client.addUri([`${base}/video.mp4`], { out: 'a1b2.mp4', gid: '00000000000000a1' });
    expect(gid).toBe('00000000000000a1');
    expect(await done).toBe(gid);
    expect(createHash('sha256').update(readFileSync(`${dir}/a1b2.mp4`)).digest('hex')).toBe(createHash('sha256').update(FILE).digest('hex'));
    // Its requests say they are taskq's, so analyze skips them when the capture sees them.
    expect(new Set(agents)).toEqual(new Set([DOWNLOAD_AGENT]));

    const [status, missing] = await client.multicall([['tellStatus', gid, ['gid', 'status', 'totalLength']], ['tellStatus', '0000000000000bad']]);
    expect(status).toEqual({ gid, status: 'complete', totalLength: String(FILE.length) });
    expect(missing).toBeInstanceOf(Aria2Error);
    expect((missing as Aria2Error).message).toMatch(/0000000000000bad is not found/);
  });

  it('a wrong secret, a dead aria2c and a call that never returns: clear errors, nothing hangs', async () => {
    const { d } = await daemon();
    const wrong = new Aria2Client({ port: d.connection!.port, secret: 'not-it' });
    await expect(wrong.getVersion()).rejects.toThrow(/refused the RPC secret/);

    const client = new Aria2Client({ ...d.connection!, timeoutMs: 1500 });
    await client.open();
    const disconnected = once(client, 'disconnected');
    process.kill(d.pid!, 'SIGKILL');
    await disconnected;
    await client.close();
    await expect(client.getVersion()).rejects.toThrow(/aria2 is not listening|did not answer/);

    // A server that accepts and never answers: the call times out instead of waiting forever.
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    onTestFinished(() => void silent.close());
    const stuck = new Aria2Client({ port: (silent.address() as AddressInfo).port, secret: 's', timeoutMs: 300 });
    await expect(stuck.getVersion()).rejects.toThrow(/did not answer getVersion within 300 ms/);
  });
});
