/**
 * The Downloads page in Chromium with a real download node (its own aria2c) and a rate-limited local
 * origin: a download added through the dialog shows its progress bar move and reach 100%, the global
 * speed shows in the header and the title, and the API refuses what is not on its allow-list.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { startOrigin } from '../../src/demo/origin.js';
import { uniquePrefix } from '../helpers/apps.js';
import { browser, screenshot } from '../helpers/browser.js';
import { root, spawnTaskq } from '../helpers/processes.js';

const TOKEN = 'downloads-test-token-0123456789';

describe('the Downloads page', { timeout: 60_000 }, () => {
  it('a download added through the dialog reaches 100%; the API keeps to its allow-list', async () => {
    const origin = await startOrigin({ files: { '/films/clip.mp4': { body: Buffer.alloc(1_500_000, 5), type: 'video/mp4' } }, rate: 500_000 });
    onTestFinished(() => origin.close());
    const cache = `${mkdtempSync(`${tmpdir()}/taskq-ui-dl-`)}/cache`;
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: uniquePrefix(), TASKQ_CACHE_DIR: cache };
    await spawnTaskq(['worker', '-A', `${root}dist/app.js`, '-Q', 'q_download', '-n', 'dl@box'], { env });
    const ui = await spawnTaskq(['ui', '-A', `${root}dist/app.js`, '--port', '0', '--token', TOKEN], { env });
    const base = /taskq ui on (http:\/\/127\.0\.0\.1:\d+)\//.exec(ui.output())?.[1] as string;

    const page = await (await browser()).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${base}/#token=${TOKEN}`);
    await page.click('nav a[href="#/downloads"]');
    await page.locator('text=No aria2 is running yet').waitFor();
    await page.click('#add-download');
    await page.fill('#add-form input[name=url]', `${origin.url}/films/clip.mp4`);
    await page.click('#add-form button');
    await page.locator('section.aria2[data-node="dl@box"] table[data-list=active] tr[data-status=active]').waitFor();
    await expect.poll(() => page.title()).toMatch(/^↓ \d+(\.\d)? (KB|MB)\/s — taskq$/);
    await page.locator('#speed').waitFor();
    await screenshot(page, 'ui-downloads-active');
    // Its detail: files and sources; its own speed limit, the one option edited here.
    await page.click('table[data-list=active] tr[data-status=active] a');
    await page.locator('#download-detail', { hasText: `${origin.url}/films/clip.mp4` }).waitFor();
    await page.fill('#download-detail input[name=limit]', '5M');
    await page.click('#download-detail button:has-text("Save")');
    await page.locator('#download-detail', { hasText: 'saved' }).waitFor();
    await page.locator('table[data-list=stopped] tr[data-status=complete] [data-pct="100"]').waitFor();
    await expect.poll(() => page.locator('#note').textContent()).toBe('completed: clip.mp4');
    await screenshot(page, 'ui-downloads-done');

    const api = (path: string, body: object) => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await api('/api/aria2/dl@box/pause', { gids: ['not-a-gid'] })).status).toBe(400);
    expect((await api('/api/aria2/dl@box/pause', {})).status).toBe(400);
    expect((await api('/api/aria2/dl@box/shutdown', {})).status).toBe(400); // not on the list
    expect((await api('/api/aria2/nobody/purge', {})).status).toBe(404);
    expect((await api('/api/aria2/dl@box/options', { dir: '/etc' })).status).toBe(400);
    expect((await api('/api/aria2/dl@box/options', { maxOverallDownloadLimit: '1M' })).status).toBe(200);
    expect((await api('/api/downloads', { url: 'file:///etc/passwd' })).status).toBe(400);
    const listing = (await (await fetch(`${base}/api/aria2`)).json()) as { nodes: Array<{ name: string; options: { maxOverallDownloadLimit: string } }> };
    expect(listing.nodes).toEqual([expect.objectContaining({ name: 'dl@box', options: expect.objectContaining({ maxOverallDownloadLimit: '1048576' }) })]);
    expect(JSON.stringify(listing)).not.toMatch(/secret|rpc-secret/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('taskq_aria2_downloads{node="dl@box",state="stopped"} 1');
    expect(metrics).toMatch(/taskq_aria2_download_bytes_per_second\{node="dl@box"\} \d+/);
    expect(metrics).toMatch(/taskq_cache_entries 1/);
  });
});
