/**
 * The downloader against a real aria2c and a rate-limited local origin: progress with bytes, speed and
 * ETA; aria2c killed -9 mid-download is restarted and the download continues where it stopped (a
 * ranged request, not a second copy from zero) to the origin's sha256; a missing file fails for good.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startOrigin } from '../../../src/demo/origin.js';
import { Downloader, type DownloadProgress } from '../../../src/download/downloader.js';
import { UnrecoverableError } from '../../../src/errors.js';
import { silent } from '../../helpers/apps.js';
import { alive } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait-for.js';

const VIDEO = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 13 + (i >> 10)) % 256));

async function setup(rate?: number) {
  const origin = await startOrigin({ files: { '/v.mp4': { body: VIDEO, type: 'video/mp4' } }, ...(rate ? { rate } : {}) });
  onTestFinished(() => origin.close());
  const root = mkdtempSync(`${tmpdir()}/taskq-dl-`);
  const d = new Downloader({ log: silent, stateDir: `${root}/state`, downloadDir: `${root}/incoming`, pollMs: 100 });
  onTestFinished(() => d.stop());
  await d.start();
  return { origin, d, dir: `${root}/incoming` };
}

describe('the downloader', () => {
  it('reports progress, and survives aria2c killed -9 mid-download: restarted, the file continued, not fetched twice', async () => {
    const { origin, d, dir } = await setup(600_000);
    const seen: DownloadProgress[] = [];
    const done = d.download({ gid: 'aaaabbbbccccdddd', uri: `${origin.url}/v.mp4`, dir, out: 'v.mp4' }, (p) => seen.push(p), new AbortController().signal);
    await waitFor('a third of the file', () => seen.at(-1)?.completed ?? 0, (n) => n > 1_000_000, { timeoutMs: 15_000 });
    expect(seen.at(-1)).toMatchObject({ total: VIDEO.length, speed: expect.any(Number) });
    expect(seen.some((p) => p.speed > 0 && p.eta !== undefined && p.eta > 0)).toBe(true);
    const first = d.aria2Pid as number;
    process.kill(first, 'SIGKILL');
    origin.setRate(undefined);
    expect(await done).toBe(VIDEO.length);
    expect(d.restarts).toBe(1);
    expect(d.aria2Pid).not.toBe(first);
    expect(alive(d.aria2Pid as number)).toBe(true);
    expect(createHash('sha256').update(readFileSync(`${dir}/v.mp4`)).digest('hex')).toBe(createHash('sha256').update(VIDEO).digest('hex'));
    // After the kill the download went on from where its control file said (saved every second),
    // not from zero.
    const resumedAt = origin.requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? 0));
    expect(Math.max(...resumedAt)).toBeGreaterThan(300_000);
  });

  it('a file the origin does not have fails for good, with aria2\'s reason', async () => {
    const { origin, d, dir } = await setup();
    const err = await d.download({ gid: '1111222233334444', uri: `${origin.url}/missing.mp4`, dir, out: 'm.mp4' }, () => {}, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(new RegExp(`aria2 could not download ${origin.url}/missing.mp4: Resource not found \\(aria2 error 3\\)`));
  });
});
