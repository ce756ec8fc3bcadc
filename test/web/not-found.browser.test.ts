// An unknown URL in the dashboard, in Chromium: the page says "Page not found" in words, names what was asked for,
// and offers a way back (the Overview with the app kept, or Back) inside the usual navigation; signed out it
// offers the sign-in instead of sending there. It fits a phone.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

describe.skipIf(!needs('chromium'))('the 404 page', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer();
    browser = await launchBrowser();
    page = await browser.newPage({ width: 1280, height: 800 });
    await setupAdminInPage(page, s.url, s.server.setupToken!);
    // One session, so the Overview is the Overview (a brand-new app shows the welcome page instead).
    const one = sdkSession({ sessionId: 'nf-1', timestamp: Date.now() - 60_000 });
    expect((await postSessions(s.url, [one], { key: s.apiKey })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('a mistyped URL: status 404, a heading in words, the path asked for, the navigation, and a way back', async () => {
    const res = await page.goto(`${s.url}/overveiw?app=default`);
    expect(res?.status()).toBe(404);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(await page.title()).toBe('Page not found · m3w');
    expect(await page.locator('.not-found code').textContent()).toBe('/overveiw?app=default');
    expect(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').count()).toBeGreaterThan(3);
    expect(await page.locator('body').textContent()).not.toContain('NOT_FOUND');
    await page.getByRole('link', { name: 'Go to the Overview' }).click();
    await page.waitForURL(/\/overview\?app=default$/);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });

  test('a dead link inside the dashboard: the 404 heading takes the focus; Go back returns to where the user was', async () => {
    await page.goto(`${s.url}/sessions`);
    await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
    await page.evaluate(`(() => { const a = document.createElement('a'); a.href = '/sessions/a/b/c'; a.textContent = 'dead link';
      document.querySelector('main').prepend(a); })()`);
    await page.getByRole('link', { name: 'dead link' }).click();
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    // A screen reader announces where the user landed.
    await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Page not found');
    await page.getByRole('button', { name: 'Go back' }).click();
    await page.waitForURL(/\/sessions$/);
    await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
  });

  test('on a phone it fits, with the way back in reach', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${s.url}/${'a-very-long-mistyped-address/'.repeat(6)}`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    const link = page.getByRole('link', { name: 'Go to the Overview' });
    expect(await link.isVisible()).toBe(true);
    expect((await link.boundingBox())!.y).toBeLessThan(844);
    await browser.screenshot(page, 'not-found-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('signed out: the same page offers the sign-in, instead of sending there', async () => {
    await page.context().clearCookies();
    const res = await page.goto(`${s.url}/nothing-here`);
    expect(res?.status()).toBe(404);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/nothing-here');
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/login/);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  test('no console error other than the unknown URLs’ own 404s', () => {
    expect(browser.problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
  });
});
