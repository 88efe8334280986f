/**
 * Debian's Chromium driven by playwright-core, headless, with the flags that keep it on loopback (no
 * background networking, updates or sync) and a fresh profile; closed when the test ends. Screenshots
 * go to test-artifacts/.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { onTestFinished } from 'vitest';
import { root } from './processes.js';

export const artifacts = `${root}test-artifacts/`;

/** A browser with a fresh profile (its own --user-data-dir). */
export async function browser(): Promise<BrowserContext> {
  const b = await chromium.launchPersistentContext(mkdtempSync(`${tmpdir()}/taskq-chromium-`), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  onTestFinished(() => b.close());
  return b;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });
}
