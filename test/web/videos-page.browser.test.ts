// The dashboard's Videos page in Chromium, on a server with ffmpeg: it is in the navigation, opens in place,
// fits a phone's width in dark mode, and offers the upload form. The upload itself is in videos-e2e.browser.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.skipIf(!needs('chromium', 'ffmpeg'))('the Videos page', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let routeStatus = 0;

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer();
    routeStatus = (await fetch(`${s.url}/api/v1/videos?app=default`)).status;
    browser = await launchBrowser();
    page = await browser.newPage({ width: 390, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await setupAdminInPage(page, s.url, s.server.setupToken!);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('is in the navigation and opens without a reload', async () => {
    await page.evaluate('window.m3wMarker = 1');
    // At a phone's width the pages sit behind the header's Menu button, opened once the page that
    // setup led to has drawn (a redraw would close it again).
    await page.locator('main h1').first().waitFor();
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Videos' }).click();
    await page.waitForURL(/\/videos/);
    await page.getByRole('heading', { name: 'Videos', level: 1 }).waitFor();
    expect(await page.evaluate('window.m3wMarker')).toBe(1);
    expect(await page.title()).toBe('Videos · m3w');
    await page.getByRole('button', { name: 'Menu' }).click();
    const current = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Videos' });
    expect(await current.getAttribute('aria-current')).toBe('page');
  });

  test('offers the upload form (every build hosts video now)', async () => {
    // The page's "not available" branch is for a server without the routes; this one must have them.
    expect(routeStatus, 'GET /api/v1/videos without a credential').toBe(401);
    await page.getByLabel('Video file').waitFor();
    expect(await page.getByRole('button', { name: 'Upload' }).count()).toBe(1);
    expect(await page.getByRole('heading', { name: 'Video hosting is not available' }).count()).toBe(0);
  });

  test('fits a phone’s width in dark mode', async () => {
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    const [r, g, b] = String(bg).match(/\d+/g)!.map(Number);
    expect(r! + g! + b!, `dark background, got ${bg}`).toBeLessThan(150);
    await browser.screenshot(page, 'videos-phone-dark');
  });

  test('a deep link to a video page answers the dashboard, which says what it found', async () => {
    await page.goto(`${s.url}/videos/nosuchvideo?app=default`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBeTruthy();
    expect(await page.getByRole('link', { name: /videos/i }).count()).toBeGreaterThan(0);
  });

  test('no uncaught error and no CSP violation', () => {
    // Only 4xx answers (the deep link to a missing video); a 5xx or a failed load is a problem.
    expect(
      browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p)),
    ).toEqual([]);
  });
});
