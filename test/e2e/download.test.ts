/**
 * download.fetch on a real download node (its own aria2c) against a local origin: the file reaches the
 * store with the origin's sha256 and is indexed; the same resource again is a no-op; the store holds
 * only names the node computed.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { resourceId } from '../../src/tasks/analyze/resource.js';
import { uniquePrefix } from '../helpers/apps.js';
import { alive, root, runTaskq, spawnTaskq } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { execFileSync } from 'node:child_process';

const VIDEO = Buffer.from(Array.from({ length: 2_000_000 }, (_, i) => (i * 31) % 253));

describe('download.fetch', () => {
  it('fetches through aria2c into the store with the origin sha256, indexes it, and does nothing the second time', async () => {
    const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': VIDEO.length }).end(VIDEO));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => void server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/films/../films/a%2Fb/movie.mp4?sig=1`;
    const cache = `${mkdtempSync(`${tmpdir()}/taskq-cache-`)}/cache`;
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix, TASKQ_CACHE_DIR: cache };
    const worker = await spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-c', '2', '-n', 'download@box'], { env });
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());

    const id = resourceId(url);
    const request = { id, url, kind: 'progressive', size: VIDEO.length, contentType: 'video/mp4', seenAt: Date.now() };
    const first = (await (await app.send('download.fetch', [request], {}, { jobId: `dl:${id}`, queue: 'q_download' })).get({ timeout: 30_000 })) as { file: string; size: number; sha256: string };
    const origin = createHash('sha256').update(VIDEO).digest('hex');
    expect(first).toMatchObject({ size: VIDEO.length, sha256: origin, file: `${cache}/store/${id}.mp4` });
    expect(createHash('sha256').update(readFileSync(first.file)).digest('hex')).toBe(origin);
    const client = await app.client();
    expect(await client.hgetall(`${prefix}:cache:${id}`)).toMatchObject({ url, sha256: origin, size: String(VIDEO.length), contentType: 'video/mp4' });
    expect(readdirSync(`${cache}/store`)).toEqual([`${id}.mp4`]);
    expect(readdirSync(`${cache}/incoming`).filter((f) => !f.endsWith('.aria2'))).toEqual([]);

    // The operator's view: ls, the cache server (Range), rm.
    const ls = await runTaskq(['cache', 'ls', '--json'], env);
    expect(ls.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([expect.objectContaining({ id, url, size: VIDEO.length, sha256: origin, hits: 0, file: first.file })]);
    const serve = await spawnTaskq(['cache', 'serve', '--port', '0'], { env });
    const base = /cache server on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.output())?.[1];
    const ranged = await fetch(`${base}/u?url=${encodeURIComponent(url)}`, { headers: { range: 'bytes=1000-1999' } });
    expect([ranged.status, ranged.headers.get('etag'), Buffer.from(await ranged.arrayBuffer()).equals(VIDEO.subarray(1000, 2000))]).toEqual([206, `"${origin}"`, true]);
    const shown = await runTaskq(['cache', 'ls'], env);
    // A range from the middle is a player seeking, not a hit.
    expect(shown.stdout).toMatch(new RegExp(`^${id}\\s+progressive\\s+1\\.9 MiB\\s+0\\s`, 'm'));
    expect(shown.stdout).toContain('1 entry, 1.9 MiB of 10 GiB');
    serve.signal('SIGTERM');
    expect(await serve.exited).toBe(0);

    const again = await (await app.send('download.fetch', [request], {}, { queue: 'q_download' })).get({ timeout: 10_000 });
    expect(again).toEqual({ id, cached: true });

    // The node killed -9: its aria2c goes with it.
    const aria2Pids = execFileSync('pgrep', ['-f', '--', `--dir=${cache}/incoming`], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(aria2Pids).toHaveLength(1);

    const rm = await runTaskq(['cache', 'rm', url, 'http://not.cached/x.mp4'], env);
    expect([rm.code, rm.stdout, rm.stderr]).toEqual([1, `removed ${id} (1.9 MiB, ${url})\n`, 'not cached: http://not.cached/x.mp4 (`taskq cache ls` lists the ids and URLs)\n']);
    expect(readdirSync(`${cache}/store`)).toEqual([]);
    expect((await runTaskq(['cache', 'ls'], env)).stdout).toBe('the cache is empty\n0 entries, 0 B of 10 GiB\n');
    // Removed, then seen again: aria2 still lists the finished download under the same gid, but its
    // file went into the store and away: it is fetched again, not taken for done.
    const refetched = (await (await app.send('download.fetch', [request], {}, { queue: 'q_download' })).get({ timeout: 30_000 })) as { sha256: string; file: string };
    expect(refetched).toMatchObject({ sha256: origin, file: first.file });
    expect(readdirSync(`${cache}/store`)).toEqual([`${id}.mp4`]);

    worker.signal('SIGKILL');
    await worker.exited;
    await waitFor('aria2c to go with its node', () => aria2Pids.filter(alive), (left) => left.length === 0, { timeoutMs: 5000 });
  });
});
