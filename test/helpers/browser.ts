// Debian's Chromium driven by playwright-core, for the dashboard's end-to-end tests: headless, a fresh profile
// per launch, nothing fetched from the internet. Every console error, uncaught page error and CSP violation is
// collected, so a test can assert there were none.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

import { CHROMIUM } from './requirements.ts';

export { CHROMIUM };
/** Screenshots land here (test artifacts; copies in docs/ are what the README shows). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../dist/screenshots/', import.meta.url));

export interface TestBrowser {
  context: BrowserContext;
  /** Console errors, page errors and CSP violations seen on any page so far. */
  problems: string[];
  newPage(opts?: { width?: number; height?: number }): Promise<Page>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'm3w-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      // The location names the resource a "Failed to load resource" message is about; page.url() only the page.
      if (msg.type() === 'error')
        problems.push(`console error on ${page.url()} (from ${msg.location().url || 'the page'}): ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`uncaught on ${page.url()}: ${err.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  // A CSP violation is also a console error in Chromium; this catches any the console would not name clearly.
  await context.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  );
  return {
    context,
    problems,
    async newPage(opts = {}) {
      const page = await context.newPage();
      if (opts.width) await page.setViewportSize({ width: opts.width, height: opts.height ?? 800 });
      return page;
    },
    async screenshot(page, name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Creates the first admin through the setup page, leaving `page` signed in (session cookies set). */
export async function setupAdminInPage(
  page: Page,
  baseUrl: string,
  setupToken: string,
  admin = { email: 'owner@example.com', password: 'a long enough password' },
): Promise<void> {
  await page.goto(`${baseUrl}/setup#${setupToken}`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password (at least 10 characters)').fill(admin.password);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/setup'));
}
