// The video library end to end in Chromium: a clip made by ffmpeg is
// uploaded through the dashboard's Videos page (tus, progress bar), its status turns Ready live, its page plays
// it in the /watch player, the player's own QoE session arrives in the store, a guest plays it through /embed
// with a guest token, and Delete removes it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { call, login } from '../helpers/accounts.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { FFMPEG, needs } from '../helpers/requirements.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';

const ADMIN = { email: 'owner@example.com', password: 'a long enough password' };

function makeClip(file: string, seconds = 4): void {
  const run = spawnSync(
    FFMPEG,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=640x360:rate=25:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-movflags',
      '+faststart',
      '-shortest',
      file,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`);
}

/** Plays the page's (or frame's) <video> and waits until the playhead has really moved. */
async function playsInside(target: Page | Frame): Promise<string> {
  await target.waitForSelector('video', { timeout: 20_000 });
  await target.evaluate("(() => { const v = document.querySelector('video'); v.muted = true; return v.play(); })()");
  // Polled from outside: a string predicate would be eval'd inside the page, which its CSP forbids.
  await expect
    .poll(() => target.evaluate("document.querySelector('video').currentTime"), { timeout: 30_000 })
    .toBeGreaterThan(1);
  return (await target.evaluate("document.querySelector('video').dataset.sessionId || ''")) as string;
}

describe.skipIf(!needs('chromium', 'ffmpeg'))('the video library in Chromium', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let token = '';
  let clip = '';
  let videoId = '';

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer();
    clip = path.join(makeTempDir('m3w-clip-'), 'test-pattern.mp4');
    makeClip(clip);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('dialog', (d) => void d.accept());
    await setupAdminInPage(page, s.url, s.server.setupToken!, ADMIN);
    token = (await login(s, ADMIN.email, ADMIN.password)).accessToken;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('an upload on the Videos page shows its progress, then turns Ready live with its renditions', async () => {
    await page.goto(`${s.url}/videos?app=default`);
    await page.getByRole('link', { name: 'Videos' }).first().waitFor();
    await page.getByLabel('Video file').setInputFiles(clip);
    await page.getByLabel('Title').fill('Test pattern');
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Uploaded' }).count(), { timeout: 30_000 })
      .toBe(1);
    expect(await page.getByLabel('Upload progress').getAttribute('value')).toBe('1');
    const row = page.locator('tr[data-video-id]').filter({ hasText: 'Test pattern' });
    await row.waitFor({ timeout: 10_000 });
    videoId = (await row.getAttribute('data-video-id'))!;
    // No reload from here on: the status arrives over the live WebSocket.
    await page.evaluate('window.m3wMarker = 1');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 180_000, interval: 500 }).toBe('ready');
    expect(await page.evaluate('window.m3wMarker')).toBe(1);
    expect(await row.locator('.rendition').allTextContents()).toContain('360p ✓');
    await browser.screenshot(page, 'videos');
    // The list at a phone's width, in dark mode: nothing wider than the screen (the table scrolls in its box).
    await page.setViewportSize({ width: 390, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await browser.screenshot(page, 'videos-phone-dark-list');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 240_000);

  test('its page plays it in the /watch player, and that playback’s QoE session arrives in the store', async () => {
    await page.getByRole('link', { name: 'Test pattern' }).click();
    await page.waitForURL(new RegExp(`/videos/${videoId}`));
    const frame = page.frameLocator('iframe.player-frame');
    await frame.locator('video').waitFor({ timeout: 20_000 });
    const inner = page.frames().find((f) => f.url().includes(`/watch/${videoId}`))!;
    const sessionId = await playsInside(inner);
    expect(sessionId).toMatch(/^[0-9a-f-]{32,36}$/);
    await browser.screenshot(page, 'video-page');
    await expect
      .poll(async () => (await call(s, 'GET', `/api/v1/sessions/${sessionId}?app=default`, { token })).status, {
        timeout: 15_000,
      })
      .toBe(200);
    const { json } = await call(s, 'GET', `/api/v1/sessions/${sessionId}?app=default`, { token });
    const stored = (json!.payload ?? json) as Record<string, unknown>;
    expect(stored.contentId).toBe(videoId);
    expect(stored.playerName).toBe('m3w-player');
    expect(stored.startupTimeMs as number).toBeGreaterThan(0);
    expect(stored.startupTimeMs as number).toBeLessThan(15_000);
  }, 90_000);

  test('/watch on its own plays for the signed-in viewer', async () => {
    const watch = await browser.newPage({ width: 390, height: 800 });
    await watch.goto(`${s.url}/watch/${videoId}`);
    expect(await playsInside(watch)).not.toBe('');
    await browser.screenshot(watch, 'watch-phone');
    await watch.close();
  }, 60_000);

  test('a guest plays it through /embed with a guest token, with no account and no cookie', async () => {
    const issued = await call(s, 'POST', '/api/v1/guest-tokens', { token, body: { resource: `video:${videoId}` } });
    expect(issued.status).toBe(201);
    const guestBrowser = await launchBrowser();
    try {
      const guest = await guestBrowser.newPage();
      await guest.goto(`${s.url}/embed/${videoId}?token=${encodeURIComponent(issued.json!.token)}`);
      expect(await playsInside(guest)).not.toBe('');
      expect(
        guestBrowser.problems.filter(
          (p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p),
        ),
      ).toEqual([]);
    } finally {
      await guestBrowser.close();
    }
  }, 60_000);

  test('Delete removes it from the list and from the server', async () => {
    await page.goto(`${s.url}/videos?app=default`);
    const row = page.locator(`tr[data-video-id="${videoId}"]`);
    await row.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect((await call(s, 'GET', `/api/v1/videos/${videoId}?app=default`, { token })).status).toBe(404);
  });

  test('no uncaught error and no CSP violation on the way', () => {
    // Only 4xx answers; a 5xx or a failed load is a problem.
    expect(
      browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p)),
    ).toEqual([]);
  });
});
