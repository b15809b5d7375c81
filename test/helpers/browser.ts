import assert from 'node:assert/strict';
// A real headless Chromium (the system one; never `playwright install`) with a fresh profile per test.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = path.resolve('test-artifacts/screenshots');

/** a browser context (desktop 1280x800) on its own throw-away user-data-dir; closed and removed after the test */
export async function launchBrowser(t: { after(fn: () => Promise<void>): void }): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(10_000);
  t.after(async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  return context;
}

/** writes test-artifacts/screenshots/<name>.png (full page) */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 667 };

/**
 * Screenshots at desktop and phone sizes (<name>-desktop, <name>-phone); on the phone nothing may be wider than the
 * screen. `check` runs at each size (e.g. controls stay usable) and returns what is wrong.
 */
export async function shoot(page: Page, name: string, check?: (page: Page) => Promise<unknown[]>): Promise<void> {
  await page.setViewportSize(DESKTOP);
  if (check) assert.deepEqual(await check(page), [], `${name} on a desktop`);
  await screenshot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${name} is ${width}px wide on a ${PHONE.width}px phone`);
  if (check) assert.deepEqual(await check(page), [], `${name} on a phone`);
  await screenshot(page, `${name}-phone`);
  await page.setViewportSize(DESKTOP);
}
