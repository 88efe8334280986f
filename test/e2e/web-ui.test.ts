/**
 * The web UI in Debian's Chromium, against a real `taskq ui` process and a real worker process: the
 * dashboard shows the node; a task sent after the page loaded appears on the Tasks page without a
 * reload; a running task is terminated from its page and shows REVOKED; without the token the page
 * says changes need it. Screenshots of each page are saved in test-artifacts/.
 */
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createApp } from '../../src/core/app.js';
import { uniquePrefix } from '../helpers/apps.js';
import { browser, screenshot } from '../helpers/browser.js';
import { fixture, spawnTaskq } from '../helpers/processes.js';

const TOKEN = 'browser-test-token-0123456789';

describe('the web UI in Chromium', { timeout: 60_000 }, () => {
  it('dashboard, live tasks, terminate from a task page', async () => {
    const prefix = uniquePrefix();
    const env = { TASKQ_BROKER_URL: inject('redisUrl'), TASKQ_KEY_PREFIX: prefix };
    // A processes pool: terminate stops even code that ignores its signal (the slow task sleeps on).
    await spawnTaskq(['worker', '-A', fixture('basic.mjs'), '-n', 'ui-worker@test', '-c', '2', '-P', 'processes'], { env });
    const ui = await spawnTaskq(['ui', '-A', fixture('basic.mjs'), '--port', '0', '--token', TOKEN], { env });
    const base = /taskq ui on (http:\/\/127\.0\.0\.1:\d+)\//.exec(ui.output())?.[1] as string;
    expect(ui.output()).toContain(`${base}/#token=${TOKEN}`);
    const app = createApp({ broker: inject('redisUrl'), keyPrefix: prefix });
    onTestFinished(() => app.close());

    const page = await (await browser()).newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/#token=${TOKEN}`);
    await page.locator('#nodes tbody tr', { hasText: 'ui-worker@test' }).waitFor();
    await expect.poll(() => page.locator('#nodes-online').textContent()).toBe('1');
    await page.locator('#live.live').waitFor();
    expect(page.url()).toBe(`${base}/#/`.replace('#/', '')); // the token left the address bar
    await screenshot(page, 'ui-dashboard');

    await page.click('nav a[href="#/tasks"]');
    await page.locator('#tasks').waitFor();
    // Sent after the page loaded: it appears without a reload, live.
    const added = await app.send('add', [20, 22]);
    await page.locator(`#tasks tr[data-id="${added.id}"][data-state="SUCCESS"]`).waitFor();
    const napping = await app.send('slow', [60_000]);
    await page.locator(`#tasks tr[data-id="${napping.id}"][data-state="STARTED"]`).waitFor();
    await screenshot(page, 'ui-tasks');

    await page.click(`#tasks tr[data-id="${napping.id}"] a`);
    await page.locator('#task-state.STARTED').waitFor();
    await page.click('#terminate');
    await page.locator('#task-state.REVOKED').waitFor();
    expect(await napping.state()).toBe('REVOKED');
    await screenshot(page, 'ui-task-revoked');

    // Workers: the node with its pool and controls; Beat: an entry added and disabled from the page; Cache.
    await page.click('nav a[href="#/workers"]');
    await page.locator('section.worker[data-node="ui-worker@test"]').waitFor();
    await screenshot(page, 'ui-workers');
    await page.click('nav a[href="#/beat"]');
    await page.fill('#add-entry input[name=name]', 'sums');
    await page.fill('#add-entry input[name=task]', 'add');
    await page.fill('#add-entry input[name=when]', '5m');
    await page.click('#add-entry button');
    await page.locator('#entries tr[data-entry="sums"][data-enabled="true"]').waitFor();
    await page.click('#entries tr[data-entry="sums"] button:has-text("Disable")');
    await page.locator('#entries tr[data-entry="sums"][data-enabled="false"]').waitFor();
    await screenshot(page, 'ui-beat');
    await page.click('nav a[href="#/cache"]');
    await page.locator('text=0 videos').waitFor();
    await screenshot(page, 'ui-cache');

    // A tab without the token can look, not change.
    const stranger = await (await browser()).newPage();
    await stranger.goto(`${base}/#/tasks/${added.id}`);
    await stranger.click('#revoke');
    await expect.poll(() => stranger.locator('#note').textContent()).toContain('changes need the UI token');
    expect(problems).toEqual([]);
  });
});
