// The dashboard in a real Chromium against a real server: first-run setup through the page, the empty state
// that turns into the Overview by itself when the first session arrives, API keys made in Settings and used to
// ingest, the sessions browser, sign-out and sign-in, a lost live feed that recovers by itself, keyboard use,
// a phone's width — and no console error or CSP violation on the way.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

const ADMIN = { email: 'owner@example.com', password: 'a long enough password' };
/** What leaving a page mid-request may log. */
const ABORTED = /ERR_ABORTED|Failed to fetch|aborted/i;
/** What a live feed reconnecting to a stopped server, and then with an expired session, may log. */
const RECONNECTING =
  /WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws\/live' failed|ERR_CONNECTION_REFUSED|status of 401/;
describe.skipIf(!needs('chromium'))('dashboard in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let ingestKey = '';

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({ liveIntervalMs: 250 });
    browser = await launchBrowser();
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  const liveStatus = () => page.locator('.live-status');

  test('first run: the setup link creates the admin and signs in; the empty state shows how to send data', async () => {
    await page.goto(`${s.url}/setup#${s.server.setupToken}`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password (at least 10 characters)').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(/\/welcome/);
    await expect.poll(() => page.getByRole('heading', { name: 'No data yet' }).count()).toBe(1);
    expect(await page.locator('.urls code').first().textContent()).toBe(s.url);
    expect(await page.getByLabel('webhook URL').textContent()).toMatch(/\/api\/webhook\?key=YOUR_INGEST_KEY$/);
    await expect.poll(() => liveStatus().textContent()).toBe('● live');

    await page.getByRole('button', { name: 'Create an ingest key' }).click();
    const shown = page.getByLabel('new ingest key');
    await expect.poll(() => shown.count()).toBe(1);
    ingestKey = (await shown.textContent())!.trim();
    expect(ingestKey).toMatch(/^m3w_[0-9a-f]{8}_/);
    // The examples now carry the new key.
    expect(await page.getByLabel('curl example').textContent()).toContain(`X-API-Key: ${ingestKey}`);
    await browser.screenshot(page, 'welcome');
  });

  test('the first session turns the empty state into the Overview, without a reload', async () => {
    await page.evaluate('window.m3wMarker = 1');
    const res = await postSessions(s.url, sdkSession({ sessionId: 'first-session', timestamp: Date.now() }), {
      key: ingestKey,
    });
    expect(res.status).toBe(200);
    await page.waitForURL(/\/overview/, { timeout: 5000 });
    await expect.poll(() => page.getByRole('heading', { name: 'Overview' }).count()).toBe(1);
    // Same document: the page moved by itself, it was not reloaded.
    expect(await page.evaluate('window.m3wMarker')).toBe(1);
    expect(browser.problems).toEqual([]);
    // The Overview's charts and tiles come from the analytics engine's API; they are checked, console
    // included, in analytics.browser.test.ts. Leaving may cut its requests short: only that is allowed here.
    await page.goto('about:blank');
    expect(browser.problems.filter((p) => !ABORTED.test(p))).toEqual([]);
    browser.problems.splice(0);
  });

  test('Settings: a key created (shown once, with a copy button) ingests; rotated and revoked keys are listed', async () => {
    const before = browser.problems.length;
    await page.goto(`${s.url}/settings/keys`);
    await page.getByLabel('Key name').fill('android-prod');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key');
    await expect.poll(() => shown.count()).toBe(1);
    const key = (await shown.textContent())!.trim();
    expect(await page.locator('.shown-once button.copy').count()).toBe(1);
    const res = await postSessions(
      s.url,
      sdkSession({ sessionId: 'from-settings-key', timestamp: Date.now() - 1000 }),
      { key },
    );
    expect(res.status).toBe(200);
    await browser.screenshot(page, 'settings-keys');

    const row = page.locator('tr', { hasText: 'android-prod' });
    // Rotation asks first.
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(async () => (await shown.textContent())?.trim()).not.toBe(key);
    page.once('dialog', (d) => void d.accept());
    await page.locator('tr', { hasText: 'android-prod' }).first().getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.locator('td', { hasText: /^revoked / }).count()).toBeGreaterThanOrEqual(1);
    expect(browser.problems.slice(before)).toEqual([]);
  });

  test('Sessions: the list, search by sessionId, and the detail with the raw payload', async () => {
    const before = browser.problems.length;
    await page.goto(`${s.url}/sessions`);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    await page.getByLabel('Search by sessionId').fill('from-set');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: 'from-settings-key' }).click();
    await page.waitForURL(/\/sessions\/from-settings-key/);
    const raw = page.getByLabel('Raw payload');
    await expect.poll(() => raw.count()).toBe(1);
    expect(JSON.parse((await raw.textContent())!)).toMatchObject({
      sessionId: 'from-settings-key',
      startupTimeMs: 850,
    });
    await browser.screenshot(page, 'session-detail');
    expect(browser.problems.slice(before)).toEqual([]);
  });

  test('keyboard: Tab reaches the navigation and Enter follows a link', async () => {
    await page.goto(`${s.url}/sessions`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate('document.activeElement?.textContent')) === 'Settings';
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/settings/);
  });

  test('a lost live feed shows "reconnecting…" and recovers by itself, refreshing an expired session', async () => {
    await page.goto(`${s.url}/sessions`);
    await expect.poll(() => liveStatus().textContent()).toBe('● live');
    const { port } = s.server;
    await s.server.close();
    await expect.poll(() => liveStatus().textContent(), { timeout: 5000 }).toBe('reconnecting…');
    // Meanwhile the access cookie expires (as it does every 15 minutes): the feed is refused with 4401, the page
    // refreshes the session with its refresh cookie and connects again.
    await browser.context.clearCookies({ name: 'm3w_access' });
    // Down long enough for the reconnect backoff to grow (0.5, 1, 2, 4, 8 s): after the refresh the page must
    // connect at once, not wait out that backoff again (which took it 17 s or more past the restart).
    await new Promise((resolve) => setTimeout(resolve, 8000));
    s = await startTestServer({ liveIntervalMs: 250, port }, s.dir);
    await expect.poll(() => liveStatus().textContent(), { timeout: 15_000 }).toBe('● live');
    // The refused reconnection attempts while the server was down, and the 4401 of the expired session, are
    // expected; nothing else.
    expect(browser.problems.filter((p) => !RECONNECTING.test(p))).toEqual([]);
    browser.problems.splice(0);
  }, 45_000);

  test('sign out, then sign in through the login page back to where the user was', async () => {
    await page.goto(`${s.url}/sessions`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${s.url}/settings/audit`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/\S/);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/settings\/audit/);
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(0);
    await browser.screenshot(page, 'settings-audit');
    // The wrong password's 401 is the one console error this test causes on purpose.
    const unexpected = browser.problems.filter((p) => !/status of 401/.test(p));
    expect(unexpected).toEqual([]);
    browser.problems.splice(0);
  });

  test('Settings: an app and a member granted only that app; the member sees just it, and no settings', async () => {
    await page.goto(`${s.url}/settings/apps`);
    await page.getByLabel('Id (lowercase, digits, dashes)').fill('tv-app');
    await page.getByLabel('Name', { exact: true }).fill('TV app');
    await page.getByRole('button', { name: 'Create app' }).click();
    await expect.poll(() => page.locator('td code', { hasText: 'tv-app' }).count()).toBe(1);

    await page.goto(`${s.url}/settings/users`);
    await page.getByLabel('Email').fill('member@example.com');
    await page.getByLabel('Password').fill('member password 1');
    await page.getByRole('button', { name: 'Add user' }).click();
    const grant = page.getByLabel('member@example.com may read TV app');
    await expect.poll(() => grant.count()).toBe(1);
    const granted = page.waitForResponse((r) => r.url().includes('/apps/tv-app') && r.request().method() === 'PUT');
    await grant.check();
    expect((await granted).status()).toBe(204);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Email').fill('member@example.com');
    await page.getByLabel('Password').fill('member password 1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The member's only app has no data yet: the empty state, for that app, and no way to make keys.
    await page.waitForURL(/\/welcome\?app=tv-app/);
    await expect
      .poll(() => page.getByText('Ask an admin for an ingest key for this app.').count(), { timeout: 10_000 })
      .toBe(1);
    expect(await page.locator('.app-picker').count(), 'one app: no picker').toBe(0);
    await page.goto(`${s.url}/sessions?app=default`);
    await expect.poll(() => page.getByRole('heading', { name: 'Sessions' }).count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.locator('main').textContent(), { timeout: 10_000 }).toContain('No sessions match.');
    await page.goto(`${s.url}/settings`);
    // A member's Settings is their own account (their apps, their password), not a dead end.
    await expect.poll(() => page.getByRole('heading', { name: 'Your account' }).count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByRole('link', { name: 'API keys' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${s.url}/login?next=%2Fsessions`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/sessions$/);
    expect(browser.problems).toEqual([]);
  });

  test('dark mode follows the OS', async () => {
    const dark = await browser.newPage();
    await dark.emulateMedia({ colorScheme: 'dark' });
    await dark.goto(`${s.url}/settings/keys`);
    await dark.getByRole('heading', { name: 'Settings' }).waitFor();
    const background = await dark.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(15, 20, 27)');
    await browser.screenshot(dark, 'dark-settings-keys');
    await dark.close();
    expect(browser.problems).toEqual([]);
  });

  test("at a phone's width nothing overflows sideways", async () => {
    const phone = await browser.newPage({ width: 390, height: 844 });
    for (const path of [
      '/sessions',
      '/sessions/first-session',
      '/settings/keys',
      '/settings/users',
      '/settings/audit',
    ]) {
      await phone.goto(`${s.url}${path}`);
      await phone.locator('main h1, main h2').first().waitFor();
      if (path === '/sessions') await browser.screenshot(phone, 'phone-sessions');
      const overflow = (await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow, path).toBeLessThanOrEqual(1);
    }
    await phone.close();
    expect(browser.problems).toEqual([]);
  });
});
