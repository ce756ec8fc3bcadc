// The Alerts page in a real Chromium: a channel added through the form answers "Send test" with the receiver's
// answer, a rule added through the form fires after the minute job and shows as firing (on the page, in the
// header, in the history); the Sessions and Breakdowns pages export the CSV they show.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { startHttpReceiver, type HttpReceiver } from '../alerts/receivers.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

describe.skipIf(!needs('chromium'))('Alerts page in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let hook: HttpReceiver;

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({}, undefined, { analyticsSchedules: false });
    hook = await startHttpReceiver();
    browser = await launchBrowser();
    page = await browser.newPage();
    await setupAdminInPage(page, s.url, s.server.setupToken!);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await hook?.close();
  });

  test('the channel form shows only the fields of the chosen type', async () => {
    await page.goto(`${s.url}/alerts`);
    const form = page.getByRole('form', { name: 'New notification channel' });
    await form.getByLabel('URL').waitFor();
    expect(await form.getByLabel('SMTP host').isVisible()).toBe(false);
    expect(await form.getByLabel('Access token').isVisible()).toBe(false);
    expect(await form.getByLabel('HMAC secret').isVisible()).toBe(true);
    await form.getByLabel('Type').selectOption('email');
    expect(await form.getByLabel('SMTP host').isVisible()).toBe(true);
    expect(await form.getByLabel('URL').isVisible()).toBe(false);
    await form.getByLabel('Type').selectOption('webhook');
  });

  test('add a channel, send a test, add a rule that fires', async () => {
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    const batch = Array.from({ length: 12 }, (_, i) =>
      sdkSession({ sessionId: `ap-${i}`, timestamp: minute - 60_000 - i * 1000, errorCount: i % 2 }),
    );
    expect((await postSessions(s.url, batch, { key: s.apiKey })).status).toBe(200);

    await page.goto(`${s.url}/alerts`);
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    const channelForm = page.getByRole('form', { name: 'New notification channel' });
    await channelForm.getByLabel('Name').fill('ops hook');
    await channelForm.getByLabel('URL').fill(`${hook.url}/hook`);
    await channelForm.getByRole('button', { name: 'Add channel' }).click();
    const row = page.locator('tr[data-channel]');
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain('ops hook');
    await row.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => row.getByRole('status').textContent(), { timeout: 15_000 }).toBe('Delivered (200)');
    expect(JSON.parse(hook.requests[0]!.body)).toMatchObject({ test: true });

    const ruleForm = page.getByRole('form', { name: 'New alert rule' });
    await ruleForm.getByLabel('Name').fill('Half failing');
    await ruleForm.getByLabel('Threshold').fill('20');
    await ruleForm.getByLabel('Minimum sessions').fill('5');
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    const rule = page.locator('tr[data-rule]');
    await expect.poll(() => rule.textContent()).toContain('Half failing');
    expect(await rule.locator('.alert-state').textContent()).toBe('ok');

    await s.server.analytics.runMinuteJob(now);
    await expect.poll(() => hook.requests.length, { timeout: 15_000 }).toBe(2);
    expect(JSON.parse(hook.requests[1]!.body).alert).toMatchObject({
      name: 'Half failing',
      state: 'firing',
      value: 50,
    });
    await page.reload();
    await expect.poll(() => page.locator('tr[data-rule] .alert-state').textContent()).toBe('firing');
    expect(await page.locator('.firing-badge').textContent()).toBe('● 1 alert firing');
    await expect
      .poll(() => page.locator('table.history').textContent())
      .toMatch(/Half failing.*firing.*ops hook: delivered/);
    await browser.screenshot(page, 'alerts');
    // The Overview names the firing alert on the tile of its metric, and nowhere else.
    await page.goto(`${s.url}/overview?range=1h`);
    const tileAlert = page.locator('section.tile[aria-label="Playback failures"] .tile-alert');
    await expect.poll(() => tileAlert.textContent(), { timeout: 10_000 }).toBe('● firing: Half failing');
    expect(await page.locator('.tile-alert:not([hidden])').count()).toBe(1);
    expect(browser.problems).toEqual([]);
  });

  test('on a phone the page does not scroll sideways; the wide tables scroll in their own box', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${s.url}/alerts`);
      await page.locator('tr[data-rule]').waitFor();
      await page.locator('tr[data-channel]').waitFor();
      expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  test('Export CSV on the Sessions and Breakdowns pages downloads what the page shows', async () => {
    await page.goto(`${s.url}/sessions?errorsOnly=true`);
    const link = page.getByRole('link', { name: 'Export CSV' });
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^\/api\/v1\/sessions\.csv\?app=default&from=\d+&to=\d+&errorsOnly=true$/);
    const download = page.waitForEvent('download');
    await link.click();
    const file = await (await download).path();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines[0]!.startsWith('sessionId,timestamp,')).toBe(true);
    expect(lines).toHaveLength(1 + 6);
    await page.goto(`${s.url}/breakdowns`);
    const bd = page.getByRole('link', { name: 'Export CSV' });
    expect(await bd.getAttribute('href')).toMatch(
      /^\/api\/v1\/qoe\/breakdown\.csv\?app=default&from=\d+&to=\d+&dimension=contentId$/,
    );
    expect(browser.problems).toEqual([]);
  });
});
