// The dashboard in a real Chromium against a real server, at a desktop's and a phone's width
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

describe.skipIf(!needs('chromium'))('the dashboard in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;

  /** The page's horizontal overflow in pixels (0 when nothing sticks out sideways). */
  const overflow = (p: Page) =>
    p.evaluate('document.documentElement.scrollWidth - window.innerWidth') as Promise<number>;

  beforeAll(async () => {
    await ensureWebBuilt();
    // The UI under test, not the rate limit: these tests open far more pages a minute than a person does.
    s = await startTestServer({ liveIntervalMs: 250, rateLimit: { requests: 1_000_000, windowSec: 60 } });
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
    expect((await apiCall('POST', '/api/v1/apps', { id: 'other-app', name: 'Other app' })).status).toBe(201);
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

  /** A call to the API from the signed-in page (its cookies and CSRF token). */
  const apiCall = async (method: string, path: string, body?: unknown) => {
    const csrf = (await page.context().cookies(s.url)).find((c) => c.name === 'm3w_csrf')?.value ?? '';
    const res = await page.request.fetch(`${s.url}${path}`, {
      method,
      headers: { 'x-csrf-token': decodeURIComponent(csrf) },
      data: body,
    });
    return { status: res.status(), json: (await res.json().catch(() => null)) as unknown };
  };

  test('moments read as sentences with units, only the selected app’s, with links; the Overview collapses them', async () => {
    const apps = (await apiCall('GET', '/api/v1/apps')).json as
      | { apps?: Array<{ id: string }> }
      | Array<{ id: string }>;
    const mine = (Array.isArray(apps) ? apps : apps.apps!)[0]!.id;
    const now = Date.now();
    const moment = (appId: string, metric: string, minutesAgo: number, baseline: number, peak: number) =>
      s.server.store.saveMoment({
        id: 0,
        appId,
        kind: peak > baseline ? 'spike' : 'drop',
        metric,
        dimension: 'global',
        value: '',
        startedAt: now - minutesAgo * 60_000,
        endedAt: now - (minutesAgo - 3) * 60_000,
        peakValue: peak,
        baseline,
        zScore: 78.2,
        threshold: 3,
      });
    await moment(mine, 'startup_p95_ms', 20, 1812.7, 5065.8);
    await moment(mine, 'playback_failure_pct', 10, 1.2, 18.5);
    await moment(mine, 'rebuffer_pct', 5, 0.5, 4.25);
    await moment('other-app', 'startup_p95_ms', 40, 900, 4000);

    for (const scheme of SCHEMES)
      for (const size of WIDTHS) {
        const p = await browser.newPage(size);
        await p.emulateMedia({ colorScheme: scheme });
        await p.goto(`${s.url}/moments?app=${mine}&range=1h`);
        const cards = p.locator('article.moment');
        await expect.poll(() => cards.count(), { timeout: 10_000 }).toBe(3);
        const titles = await p.locator('article.moment h2').allTextContents();
        expect(titles).toContain('▲ Startup p95 rose from 1.8 s to 5.1 s');
        expect(titles).toContain('▲ Playback failures rose from 1.20 % to 18.5 %');
        expect(titles.join(' ')).not.toMatch(/z =|baseline|_ms|_pct/);
        const startup = cards.filter({ hasText: 'Startup p95' });
        expect(await startup.getByRole('link', { name: 'Failed sessions' }).getAttribute('href')).toMatch(
          /^\/sessions\?.*range=custom.*errorsOnly=true/,
        );
        expect(await startup.getByRole('link', { name: 'Breakdown of this window' }).getAttribute('href')).toMatch(
          /^\/breakdowns\?.*dimension=cdn/,
        );
        expect(await overflow(p), `${size.name} ${scheme}`).toBeLessThanOrEqual(1);
        if (scheme === 'light') await browser.screenshot(p, `pass-moments-${size.name}`);

        await p.goto(`${s.url}/overview?app=${mine}&range=1h`);
        const strip = p.locator('.moments-strip');
        await expect.poll(() => strip.getByRole('link', { name: '3 moments ›' }).count(), { timeout: 10_000 }).toBe(1);
        // One line, however many moments: the strip is no taller than one chip.
        const box = (await strip.boundingBox())!;
        expect(box.height, `${size.name} ${scheme}`).toBeLessThan(40);
        expect(await strip.locator('.moment-chip').textContent()).toContain('Rebuffering');
        await p.close();
      }

    // The charts end at now, not half an hour into the future.
    await page.goto(`${s.url}/moments?app=${mine}&range=1h`);
    await expect.poll(() => page.locator('article.moment canvas').count(), { timeout: 10_000 }).toBe(3);

    // Another app's moment shows on that app only; an app without any explains the minimum-traffic rule.
    await page.goto(`${s.url}/moments?app=other-app&range=1h`);
    await expect.poll(() => page.locator('article.moment').count(), { timeout: 10_000 }).toBe(1);
    await page.goto(`${s.url}/moments?app=other-app&range=15m`);
    await expect.poll(() => page.locator('.moments').textContent()).toContain('20 a minute by default');
    expect(await page.locator('.moments').textContent()).toContain('5, 15 or 60-minute buckets');
    await page.goto(`${s.url}/overview?app=${mine}`);
    expect(browser.problems).toEqual([]);
  });

  test('sessions: titles with ids, search by title, error badges, duration and played, sortable, rows open, cards on a phone', async () => {
    for (const scheme of SCHEMES)
      for (const size of WIDTHS) {
        const where = `${size.name} ${scheme}`;
        const p = await browser.newPage(size);
        await p.emulateMedia({ colorScheme: scheme });
        await p.goto(`${s.url}/sessions?range=1h`);
        const rows = p.locator('.sessions tbody tr');
        await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(30);
        const first = rows.first();
        expect(await first.locator('.content').textContent()).toBe('Big Buck Bunny content-00');
        expect(await first.locator('.content small').textContent()).toBe('content-00');
        expect(await first.textContent()).toContain('2 min 5 s');
        expect(await p.locator('.sessions .badge.bad').count()).toBe(6);
        expect(await overflow(p), where).toBeLessThanOrEqual(1);
        if (size.name === 'desktop') {
          // One line a row: a screen holds far more than 15 of them.
          const heights = await rows.evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().height));
          expect(Math.max(...heights), where).toBeLessThan(44);
          await p.getByRole('button', { name: 'Duration' }).click();
          expect(await p.locator('th[aria-sort="descending"]').textContent()).toContain('Duration');
          expect(await rows.first().textContent()).toContain('2 min 34 s');
          await p.getByRole('button', { name: /^Duration/ }).click();
          expect(await rows.first().textContent()).toContain('2 min 5 s');
        } else {
          // Cards: every cell labelled, the table's header out of the way.
          const time = (await first.locator('td[data-label="Time"]').boundingBox())!;
          const title = (await first.locator('td[data-label="Content"]').boundingBox())!;
          expect(title.y, 'the content sits below the time, on a line of its own').toBeGreaterThan(time.y + 5);
          expect(title.width).toBeGreaterThan(size.width / 2);
          expect(await first.locator('td[data-label="Played"]').textContent()).toBe('2 min');
        }
        if (scheme === 'light') await browser.screenshot(p, `pass-sessions-${size.name}`);
        // A click anywhere on the row opens the session, which reads like a person wrote it.
        await first.locator('td[data-label="Country"]').click();
        await p.waitForURL(/\/sessions\/pass-00/);
        await expect.poll(() => p.locator('h1').textContent()).toContain('Big Buck Bunny');
        const field = (k: string) => p.locator('.fields dt', { hasText: new RegExp(`^${k}$`) }).locator('+ dd');
        expect(await field('sessionDurationMs').textContent()).toBe('2 min 5 s');
        expect(await field('meanVideoFormatBitrate').textContent()).toBe('2.5 Mbit/s');
        expect(await field('startupTimeMs').textContent()).toBe('850 ms');
        expect(await p.getByLabel('Raw payload').textContent()).toContain('"sessionDurationMs": 125000');
        await p.close();
      }
    // Search by title (case-insensitive, part of it) finds the sessions of that content.
    await page.goto(`${s.url}/sessions?range=1h`);
    await page.getByLabel('Content title or id').fill('sintel');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/content=sintel/);
    await expect.poll(() => page.locator('.sessions tbody tr').count(), { timeout: 10_000 }).toBe(10);
    expect(await page.locator('.sessions tbody .content .title').allTextContents()).toEqual(Array(10).fill('Sintel'));
    expect(browser.problems).toEqual([]);
  });

  test('charts: the latest value and its sessions until hovered, the previous period as a faint line; breakdowns by impact, with titles', async () => {
    // A content that fails half the time: fewer sessions than the others, the largest impact.
    const now = Date.now();
    const worse = Array.from({ length: 10 }, (_, i) =>
      sdkSession({
        sessionId: `worse-${i}`,
        timestamp: now - i * 60_000 - 10_000,
        contentId: 'content-09',
        contentTitle: 'Cosmos Laundromat',
        errorCount: i % 2,
        errorCode: i % 2 ? 'ERROR_CODE_DECODING_FAILED' : null,
      }),
    );
    expect((await postSessions(s.url, worse, { key: s.apiKey })).status).toBe(200);
    for (const scheme of SCHEMES)
      for (const size of WIDTHS) {
        const where = `${size.name} ${scheme}`;
        const p = await browser.newPage(size);
        await p.emulateMedia({ colorScheme: scheme });
        await p.goto(`${s.url}/overview?range=1h`);
        const failures = p.locator('.tile', { hasText: 'Playback failures' });
        await expect.poll(() => failures.locator('.tile-value').textContent(), { timeout: 10_000 }).toMatch(/%$/);
        // Not hovered: the read-out holds the latest bucket's value with the sessions behind it.
        const readout = failures.locator('.u-legend .u-series').nth(1).locator('.u-value');
        await expect.poll(() => readout.textContent()).toMatch(/^\d+(\.\d+)? % \(\d+ sessions?\)$/);
        // The hour before had no sessions: no flat line at zero for it.
        const previous = failures.locator('.u-legend .u-series').nth(2);
        expect(await previous.textContent()).toContain('Previous period');
        expect(await previous.getAttribute('class')).toContain('u-off');
        expect(await overflow(p), where).toBeLessThanOrEqual(1);
        if (scheme === 'light') await browser.screenshot(p, `pass-overview-${size.name}`);

        // The 15 minutes before had sessions: drawn as the faint line.
        await p.goto(`${s.url}/overview?range=15m`);
        await expect.poll(() => readout.textContent(), { timeout: 10_000 }).toMatch(/\(\d+ sessions?\)$/);
        await expect.poll(() => previous.getAttribute('class')).not.toContain('u-off');

        await p.goto(`${s.url}/breakdowns?dimension=contentId&range=1h`);
        const rows = p.locator('tbody tr');
        await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
        expect(await p.locator('th[aria-sort="descending"]').textContent()).toContain('Impact');
        await expect
          .poll(() => rows.first().locator('td').first().textContent(), { timeout: 10_000 })
          .toBe('Cosmos Laundromat content-09');
        // 10 sessions, 5 failed, against an app average of 11/40: about 2.3 failures too many.
        expect(await rows.first().locator('td').nth(1).textContent()).toBe('2.3');
        if (scheme === 'dark' && size.name === 'desktop') await browser.screenshot(p, 'pass-breakdowns-dark');
        // The row opens the Overview filtered by it; the filter chip names the content by its title.
        await rows.first().locator('td').nth(2).click();
        await p.waitForURL(/\/overview\?/);
        await expect
          .poll(() => p.locator('.page-head .chip').textContent(), { timeout: 10_000 })
          .toBe('Content: Cosmos Laundromat content-09 ×');
        await p.close();
      }
    expect(browser.problems).toEqual([]);
  });

  test('phone: one header line with a Menu; settings tables as cards with Rotate and Revoke in reach', async () => {
    for (const scheme of SCHEMES) {
      const p = await browser.newPage(WIDTHS[1]);
      await p.emulateMedia({ colorScheme: scheme });
      await p.goto(`${s.url}/settings/keys`);
      await p.getByRole('button', { name: 'Rotate' }).first().waitFor();
      const header = (await p.locator('header.top').boundingBox())!;
      expect(header.height, scheme).toBeLessThan(60);
      expect(await p.locator('nav[aria-label="Pages"]').isVisible()).toBe(false);
      await p.getByRole('button', { name: 'Menu' }).click();
      expect(await p.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded')).toBe('true');
      await p.locator('nav').getByRole('link', { name: 'Sessions' }).click();
      await p.waitForURL(/\/sessions/);
      // The range picker fits one line beside nothing else.
      await p.getByRole('button', { name: '15m' }).waitFor();
      const picker = (await p.locator('.range-picker').boundingBox())!;
      expect(picker.height, scheme).toBeLessThan(45);
      await p.goto(`${s.url}/settings/keys`);
      const rotate = p.getByRole('button', { name: 'Rotate' }).first();
      await rotate.waitFor();
      const box = (await rotate.boundingBox())!;
      expect(box.x + box.width, 'Rotate is on screen, not behind a sideways scroll').toBeLessThanOrEqual(390);
      expect(await overflow(p), scheme).toBeLessThanOrEqual(1);
      if (scheme === 'dark') await browser.screenshot(p, 'pass-phone-keys-dark');
      await p.close();
    }
    expect(browser.problems).toEqual([]);
  });

  test('keys: a new key comes with how to connect; rotation asks first and names the new and the old key; Connect is always a click away', async () => {
    await page.goto(`${s.url}/settings/keys`);
    await page.getByLabel('Key name').fill('tv-prod');
    await page.getByRole('button', { name: 'Create key' }).click();
    const notice = page.locator('.shown-once');
    await expect.poll(() => notice.locator('h3').first().textContent()).toBe('New key “tv-prod”');
    const key = (await page.getByTestId('new-key').textContent())!.trim();
    await notice.getByText('Connect with this key').click();
    await expect.poll(() => notice.getByLabel('curl example').textContent()).toContain(`X-API-Key: ${key}`);
    expect(await notice.getByLabel('session endpoint').textContent()).toMatch(/\/v1\/sessions$/);
    // The browser SDK too: a script tag that loads, and the key filled in.
    const snippet = (await notice.getByLabel('browser SDK snippet').textContent())!;
    expect(snippet).toContain(`apiKey: '${key}'`);
    const script = new URL(/src="([^"]+)"/.exec(snippet)![1]!);
    const served = await fetch(`${s.url}${script.pathname}`);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('M3W');

    const row = page.locator('tbody tr', { hasText: 'tv-prod' });
    const prefix = (await row.locator('code').textContent())!.trim();
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await row.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => asked).toContain(prefix);
    expect(await notice.locator('h3').first().textContent(), 'dismissed: nothing rotated').toBe('New key “tv-prod”');
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Rotate' }).click();
    await expect.poll(() => notice.locator('h3').first().textContent()).toBe('New key for “tv-prod”');
    expect(await notice.textContent()).toContain(`The old key ${prefix}… no longer works`);
    expect((await page.getByTestId('new-key').textContent())!.trim()).not.toBe(key);

    // With data in the app, Connect still shows the endpoint and examples (and does not leave for the Overview).
    await page.getByRole('link', { name: 'Connect' }).click();
    await page.waitForURL(/\/connect/);
    await expect.poll(() => page.getByLabel('webhook URL').textContent()).toMatch(/\/api\/webhook\?key=/);
    expect(await page.locator('h1').textContent()).toBe('Connect');
    expect(browser.problems).toEqual([]);
  });

  test('members, passwords and the audit log: grants in the add form, an own-account page, sentences on failure, a log in words', async () => {
    await page.goto(`${s.url}/settings/users`);
    await page.getByLabel('Email').fill('member@example.com');
    await page.getByLabel('Password').fill('member password 1');
    // Nothing is granted unless ticked; this member gets the other app only.
    const grants = page.getByRole('group', { name: 'May use' });
    expect(await grants.getByLabel('Default app').isChecked()).toBe(false);
    await grants.getByLabel('Other app').check();
    await page.getByRole('button', { name: 'Add user' }).click();
    const row = page.locator('tbody tr', { hasText: 'member@example.com' });
    await row.waitFor();
    expect(await row.getByLabel('member@example.com may read Other app').isChecked()).toBe(true);
    expect(await row.getByLabel('member@example.com may read Default app').isChecked()).toBe(false);

    // A failed sign-in with a 312-character email, then the member signs in.
    const member = await browser.context.browser()?.newContext();
    const other = member ? await member.newPage() : await browser.newPage();
    const longEmail = `${'x'.repeat(300)}@example.com`;
    await other.goto(`${s.url}/login`);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => other.getByRole('alert').textContent()).toBe('Email and password are required.');
    await other.getByLabel('Email').fill(longEmail);
    await other.getByLabel('Password').fill('y'.repeat(2000));
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => other.getByRole('alert').textContent())
      .toBe('That password is too long to be an m3w password.');
    await other.getByLabel('Password').fill('wrong password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => other.getByRole('alert').textContent()).not.toBe('');
    expect(await other.getByRole('alert').textContent()).not.toMatch(/must be strings|expected/);
    await other.getByLabel('Email').fill('member@example.com');
    await other.getByLabel('Password').fill('member password 1');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.waitForURL((u) => !u.pathname.startsWith('/login'));
    await other.goto(`${s.url}/settings`);
    await expect.poll(() => other.locator('h2').textContent()).toBe('Your account');
    expect(await other.locator('main ul').textContent()).toBe('Other app');
    await other.getByLabel('Current password').fill('member password 1');
    await other.getByLabel('New password (at least 10 characters)').fill('a brand new password');
    await other.getByRole('button', { name: 'Change password' }).click();
    await expect
      .poll(
        async () =>
          `${await other.getByRole('status').last().textContent()}${await other.locator('main [role=alert]').last().textContent()}`,
        { timeout: 15_000 },
      )
      .toContain('Password changed');
    await other.close();
    await member?.close();

    for (const size of WIDTHS) {
      const p = await browser.newPage(size);
      await p.goto(`${s.url}/settings/audit`);
      const rows = p.locator('.audit tbody tr');
      await expect.poll(() => rows.count()).toBeGreaterThan(3);
      const text = await p.locator('.audit tbody').textContent();
      expect(text).toContain('Failed sign-in');
      expect(text).toContain('Added user');
      expect(text).toContain('member@example.com');
      expect(text).not.toMatch(/login_succeeded|user:\d/);
      expect(await overflow(p), size.name).toBeLessThanOrEqual(1);
      const wrap = (await p.locator('.audit').boundingBox())!;
      expect(wrap.width, size.name).toBeLessThanOrEqual(size.width);
      await p.getByLabel('Action').selectOption({ label: 'Failed sign-in' });
      await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(1);
      expect(new Set(await rows.locator('td[data-label="Action"]').allTextContents())).toEqual(
        new Set(['Failed sign-in']),
      );
      await p.getByLabel('Action').selectOption('');
      await p.getByLabel('User').selectOption('member@example.com');
      expect(new Set(await rows.locator('td[data-label="By"]').allTextContents())).toEqual(
        new Set(['member@example.com']),
      );
      await browser.screenshot(p, `pass-audit-${size.name}`);
      await p.close();
    }
    expect(browser.problems.filter((x) => !/status of 40[01]/.test(x))).toEqual([]);
  });

  test('Live: a channel row opens that channel’s page; viewer moments are shaded on the viewers chart', async () => {
    const event = (id: string, media: string) => ({
      time: new Date().toISOString(),
      event: 'play_started',
      id,
      server: 'edge1.example.com',
      media,
      user_id: id,
      ip: '192.0.2.10',
      country: 'DE',
      proto: 'hls',
      bytes: 1000,
      user_agent: 'ExoPlayerLib/2.19.1',
      opened_at: Date.now(),
    });
    for (const [id, media] of [
      ['p1', 'news'],
      ['p2', 'news'],
      ['p3', 'sport'],
    ]) {
      const res = await fetch(`${s.url}/api/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': s.apiKey },
        body: JSON.stringify(event(id!, media!)),
      });
      expect(res.status).toBe(200);
    }
    const now = Date.now();
    await s.server.store.saveMoment({
      id: 0,
      appId: 'default', // stream moments belong to the app whose key sent the plays
      kind: 'spike',
      metric: 'concurrent_viewers',
      dimension: 'channel',
      value: 'news',
      startedAt: now - 20 * 60_000,
      endedAt: now - 15 * 60_000,
      peakValue: 35,
      baseline: 20,
      zScore: 9,
      threshold: 3,
    });
    for (const size of WIDTHS) {
      const p = await browser.newPage(size);
      await p.goto(`${s.url}/live`);
      await expect.poll(() => p.getByTestId('viewers-now').textContent(), { timeout: 10_000 }).toBe('3');
      await p.locator('.breakdown', { hasText: 'Channel' }).getByRole('link', { name: 'news' }).click();
      await p.waitForURL(/\/live\/news$/);
      expect(await p.locator('h1').textContent()).toBe('Live · news');
      await expect.poll(() => p.getByTestId('viewers-now').textContent(), { timeout: 10_000 }).toBe('2');
      // The moment's 5 minutes are shaded on the viewers chart.
      await expect
        .poll(() => p.locator('.live-top .chart').first().getAttribute('data-moments'), { timeout: 10_000 })
        .toBe('1');
      if (size.name === 'desktop') await browser.screenshot(p, 'pass-live-channel');
      expect(await overflow(p), size.name).toBeLessThanOrEqual(1);
      await p.close();
    }
    expect(browser.problems).toEqual([]);
  });
});
