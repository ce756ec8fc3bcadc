// The pages that draw the analytics engine's data, in a real Chromium: the Overview's tiles and uPlot charts
// (tile values checked against what was ingested), the Live page's viewer count moving when a media server's
// play_started webhook arrives (no reload), Breakdowns and Moments — no console errors, nothing overflowing at
// a phone's width.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

describe.skipIf(!needs('chromium'))('analytics pages in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({ liveIntervalMs: 250 });
    browser = await launchBrowser();
    page = await browser.newPage();
    await setupAdminInPage(page, s.url, s.server.setupToken!);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('Overview: seven tiles with uPlot charts; the tiles show what was ingested', async () => {
    const now = Date.now();
    // 20 sessions over the last 20 minutes, 5 of them failed: 25 % playback failures.
    const batch = Array.from({ length: 20 }, (_, i) =>
      sdkSession({
        sessionId: `ov-${i}`,
        timestamp: now - i * 60_000 - 30_000,
        errorCount: i % 4 === 0 ? 1 : 0,
        totalDroppedFrames: 2,
      }),
    );
    expect((await postSessions(s.url, batch, { key: s.apiKey })).status).toBe(200);
    await page.goto(`${s.url}/overview?range=1h`);
    await expect.poll(() => page.locator('.tile canvas').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(7);
    const tile = (metric: string) => page.locator(`.tile-value[data-metric="${metric}"]`);
    await expect.poll(() => tile('sessions').textContent(), { timeout: 10_000 }).toBe('20');
    expect(await tile('playback_failure_pct').textContent()).toBe('25 %');
    expect(await tile('dropped_frames').textContent()).toBe('40');
    expect(await tile('startup_p50_ms').textContent()).toMatch(/^\d+ ms$/);
    expect(await page.locator('.u-legend').first().textContent()).toContain('Sessions');
    await browser.screenshot(page, 'overview');
    expect(browser.problems).toEqual([]);
  });

  test('Overview in live mode (15 min): a new session moves the tile without a reload', async () => {
    await page.goto(`${s.url}/overview?range=15m`);
    const sessions = page.locator('.tile-value[data-metric="sessions"]');
    await expect.poll(() => sessions.textContent(), { timeout: 10_000 }).toMatch(/^\d+$/);
    const before = Number(await sessions.textContent());
    await page.evaluate('window.m3wMarker = 1');
    expect(
      (await postSessions(s.url, sdkSession({ sessionId: 'live-overview', timestamp: Date.now() }), { key: s.apiKey }))
        .status,
    ).toBe(200);
    await expect.poll(() => sessions.textContent(), { timeout: 5000 }).toBe(String(before + 1));
    expect(await page.evaluate('window.m3wMarker')).toBe(1);
    expect(browser.problems).toEqual([]);
  });

  test('Live: the viewers number follows a play_started webhook without a reload', async () => {
    await page.goto(`${s.url}/live`);
    const now = page.getByTestId('viewers-now');
    await expect.poll(() => now.textContent(), { timeout: 5000 }).toBe('0');
    const event = {
      time: new Date().toISOString(),
      event: 'play_started',
      id: 'play-1',
      server: 'edge1.example.com',
      media: 'news',
      user_id: '7',
      ip: '192.0.2.10',
      country: 'DE',
      proto: 'hls',
      bytes: 1000,
      user_agent: 'ExoPlayerLib/2.19.1',
      opened_at: Date.now(),
    };
    const res = await fetch(`${s.url}/api/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': s.apiKey },
      body: JSON.stringify(event),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => now.textContent(), { timeout: 5000 }).toBe('1');
    await expect.poll(() => page.locator('.breakdown', { hasText: 'Channel' }).textContent()).toContain('news');
    await browser.screenshot(page, 'live');
    expect(browser.problems).toEqual([]);
  });

  test('Breakdowns: a sortable table; a row opens the Overview filtered by it', async () => {
    const now = Date.now();
    await postSessions(
      s.url,
      [
        sdkSession({ sessionId: 'bd-1', timestamp: now - 60_000, contentId: 'movie-a' }),
        sdkSession({ sessionId: 'bd-2', timestamp: now - 60_000, contentId: 'movie-b' }),
        sdkSession({ sessionId: 'bd-3', timestamp: now - 120_000, contentId: 'movie-b' }),
      ],
      { key: s.apiKey },
    );
    await page.goto(`${s.url}/breakdowns?dimension=contentId&range=1h`);
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: /^Sessions/ }).click();
    await browser.screenshot(page, 'breakdowns');
    await page.getByRole('link', { name: 'movie-b' }).click();
    await page.waitForURL(/\/overview\?.*dim=contentId&value=movie-b/);
    await expect
      .poll(() => page.locator('.tile-value[data-metric="sessions"]').textContent(), { timeout: 5000 })
      .toBe('2');
    expect(browser.problems).toEqual([]);
  });

  test("Moments page and a phone's width: no errors, no sideways overflow", async () => {
    await page.goto(`${s.url}/moments`);
    await page.getByRole('heading', { name: 'Moments' }).waitFor();
    await expect.poll(() => page.locator('.moments').textContent()).not.toBe('Loading…');
    const phone = await browser.newPage({ width: 390, height: 844 });
    for (const path of ['/overview?range=1h', '/live', '/breakdowns', '/moments']) {
      await phone.goto(`${s.url}${path}`);
      await phone.locator('main h1').first().waitFor();
      // Measured once the page has drawn what it loads (nothing still says "Loading…").
      await expect.poll(() => phone.locator('main .loading').count(), { timeout: 5000 }).toBe(0);
      const overflow = (await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow, path).toBeLessThanOrEqual(1);
      if (path === '/overview?range=1h') await browser.screenshot(phone, 'phone-overview');
    }
    await phone.close();
    expect(browser.problems).toEqual([]);
  });
});
