/**
 * Hostile downloads on a real download node (its own aria2c): dot segments and encoded slashes, a
 * 100 KB URL, bytes that are not UTF-8, file: and ftp: schemes and redirects to them, a forged
 * resource id, a Content-Disposition naming a path, options smuggled on a newline (aria2's session is
 * line-based). Each is refused with its reason or stored under a computed name; afterwards no file
 * exists outside the cache folder, even after aria2c reloads its session.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { startOrigin } from '../../src/demo/origin.js';
import { resourceId } from '../../src/tasks/analyze/resource.js';
import { uniquePrefix } from '../helpers/apps.js';
import { root, spawnTaskq } from '../helpers/processes.js';

const BODY = Buffer.from('a video, as far as anyone knows');

/** Every file under `dir`, relative to it. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)).map((f) => join(e.name, f)) : [e.name]));
}

describe('hostile downloads', () => {
  it('are refused with a reason or stored under computed names; nothing is written outside the cache', async () => {
    const file = { body: BODY, type: 'video/mp4' };
    const origin = await startOrigin({
      files: {
        '/vod/..%2F..%2Fevil.mp4': file,
        '/vod/%ff%fe%00.mp4': file,
        '/vod/named.mp4': { ...file, headers: { 'content-disposition': 'attachment; filename="../../../../outside/evil.mp4"' } },
        '/vod/movie.mp4': file,
      },
      redirects: { '/to-file.mp4': 'file:///etc/passwd', '/to-ftp.mp4': 'ftp://127.0.0.1:1/x.mp4' },
    });
    onTestFinished(() => origin.close());
    const sandbox = mkdtempSync(`${tmpdir()}/taskq-hostile-`);
    const cache = `${sandbox}/cache`;
    const work = `${sandbox}/work`;
    mkdirSync(work);
    mkdirSync(`${sandbox}/outside`);
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix, TASKQ_CACHE_DIR: cache };
    const worker = await spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-c', '4', '-n', 'dl@box', '--workdir', work], { env });
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());

    const o = origin.url;
    const cases: Array<[url: string, outcome: RegExp | 'stored', id?: string]> = [
      [`${o}/vod/../../../../etc/passwd`, /aria2 could not download .*\/etc\/passwd: Resource not found/],
      [`${o}/vod/..%2F..%2Fevil.mp4`, 'stored'],
      [`${o}/vod/%ff%fe%00.mp4`, 'stored'],
      [`${o}/vod/named.mp4`, 'stored'],
      // The newlines go (the URL parser drops them), the spaces are encoded: one odd path, not options.
      [`${o}/vod/movie.mp4\n dir=${sandbox}/outside\n out=pwned.mp4`, /movie\.mp4%20dir=.*%20out=pwned\.mp4: Resource not found/],
      [`${o}/vod/${'a'.repeat(100_000)}.mp4`, /a URL of 1000\d\d characters \(at most 8192\): not downloaded/],
      ['file:///etc/passwd', /file: URLs are not downloaded \(http and https only\)/],
      ['ftp://127.0.0.1:1/x.mp4', /ftp: URLs are not downloaded/],
      [`http://user:pw@127.0.0.1:1/x.mp4`, /a URL with credentials is not downloaded/],
      [`${o}/to-file.mp4`, /aria2 could not download/],
      [`${o}/to-ftp.mp4`, /aria2 could not download/],
      [`${o}/vod/movie.mp4`, /not a resource id: "\.\.\/\.\.\/outside\/x"/, '../../outside/x'],
    ];
    for (const [url, outcome, forged] of cases) {
      const request = { id: forged ?? resourceId(url), url, kind: 'progressive', seenAt: Date.now() };
      const r = await (await app.send('download.fetch', [request], {}, { queue: 'q_download', retries: 0 })).get({ timeout: 30_000, propagate: false });
      const what = `${url.slice(0, 80)} → ${JSON.stringify(r).slice(0, 300)}`;
      if (outcome === 'stored') {
        expect(r, what).toMatchObject({ size: BODY.length, file: expect.stringMatching(new RegExp(`^${cache}/store/[0-9a-f]{32}\\.(mp4|bin)$`)) });
        expect(readFileSync((r as { file: string }).file).equals(BODY), what).toBe(true);
      } else expect((r as { message?: string }).message, what).toMatch(outcome);
    }

    // aria2c restarted from its session: nothing smuggled into it comes to life.
    worker.signal('SIGTERM');
    await worker.exited;
    const again = await spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-n', 'dl@box', '--workdir', work], { env });
    const ok = await (await app.send('download.fetch', [{ id: resourceId(`${o}/vod/movie.mp4?again`), url: `${o}/vod/movie.mp4?again`, kind: 'progressive', seenAt: Date.now() }], {}, { queue: 'q_download' })).get({ timeout: 30_000 });
    expect(ok).toMatchObject({ size: BODY.length });
    again.signal('SIGTERM');
    await again.exited;

    expect(readdirSync(`${sandbox}/outside`)).toEqual([]);
    const everything = walk(sandbox);
    const misplaced = everything.filter((f) => !f.startsWith('cache/') && !f.startsWith('work/'));
    expect(misplaced).toEqual([]);
    expect(walk(work)).toEqual([]);
    // The store holds only computed names; the session holds no smuggled option.
    expect(readdirSync(`${cache}/store`).every((f) => /^[0-9a-f]{32}\.(mp4|bin)$/.test(f))).toBe(true);
    const session = readFileSync(`${cache}/aria2/dl@box/aria2.session`, 'utf8');
    expect(session).not.toMatch(/outside|pwned/);
    expect(statSync(`${cache}/aria2/dl@box/aria2.conf`).mode & 0o777).toBe(0o600);
  });
});
