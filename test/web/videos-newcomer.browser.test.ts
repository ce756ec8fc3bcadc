// The video pages as a newcomer meets them, in Chromium: a text file renamed .mp4 is refused with a message that
// names the file and leaves the empty library (not an empty table); a clip uploaded without a title is named
// after its file; a transcode that failed (ffmpeg broken for a while) is retried from the list and its chips go
// live again; a video's page has a labelled rename that says it saved, and a Delete; /watch on a phone keeps
// the video's shape and links back to the dashboard; /embed with a guest token leaves no error in the console.
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { FFMPEG, FFPROBE, needs } from '../helpers/requirements.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';

function which(cmd: string): string {
  if (path.isAbsolute(cmd)) return cmd;
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
}

function makeClip(file: string): void {
  const run = spawnSync(
    FFMPEG,
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=4'],
      ...['-f', 'lavfi', '-i', 'sine=duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-c:a', 'aac', '-shortest', file],
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`);
}

describe.skipIf(!needs('chromium', 'ffmpeg'))('the video pages, as a newcomer uses them', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let work = '';
  let breakFlag = '';
  const rowOf = (title: string) => page.locator('table.videos tbody tr', { hasText: title });

  beforeAll(async () => {
    await ensureWebBuilt();
    work = makeTempDir('m3w-newcomer-');
    // An ffmpeg that fails while a flag file exists: a transcode that failed, then works on retry.
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    breakFlag = path.join(work, 'ffmpeg-broken');
    const wrapper = path.join(bin, 'ffmpeg');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e '${breakFlag}' ]; then echo 'ffmpeg broken for this test' >&2; exit 1; fi\nexec '${which(FFMPEG)}' "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    symlinkSync(which(FFPROBE), path.join(bin, 'ffprobe'));
    makeClip(path.join(work, 'clip.mp4'));
    makeClip(path.join(work, 'Broken then fixed.mp4'));
    writeFileSync(path.join(work, 'notes.mp4'), 'these are my notes, not a video\n');
    s = await startTestServer({
      ffmpegPath: wrapper,
      transcode: { encoder: 'libx264', preset: 'veryfast', concurrency: 1, stallSeconds: 120 },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ width: 390, height: 844 });
    browser.context.setDefaultTimeout(15_000);
    await page.emulateMedia({ colorScheme: 'dark' });
    await setupAdminInPage(page, s.url, s.server.setupToken!);
    await page.goto(`${s.url}/videos?app=default`);
    await page.getByLabel('Video file').waitFor();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('a text file renamed .mp4 is refused by name, and the library goes back to its empty state', async () => {
    await page.getByText('No videos yet').waitFor();
    await page.getByLabel('Video file').setInputFiles(path.join(work, 'notes.mp4'));
    await page.getByRole('button', { name: 'Upload' }).click();
    const alert = page.locator('.upload-form .error');
    await expect.poll(() => alert.textContent(), { timeout: 20_000 }).toMatch(/^“notes\.mp4” was not accepted: /);
    expect(await alert.textContent()).not.toMatch(/\(4\d\d\)/);
    // The refused upload may have shown as a row for a moment; what stays is the empty state, not a bare table.
    await expect
      .poll(async () => (await page.getByText('No videos yet').count()) + (await page.locator('table.videos').count()))
      .toBe(1);
    await expect.poll(() => page.getByText('No videos yet').isVisible(), { timeout: 10_000 }).toBe(true);
  });

  test('a clip uploaded without a title is named after its file, without the extension', async () => {
    await page.getByLabel('Video file').setInputFiles(path.join(work, 'clip.mp4'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect
      .poll(() => rowOf('clip').getAttribute('data-status'), { timeout: 60_000, interval: 250 })
      .toBe('ready');
    expect(await rowOf('clip').getByRole('link').textContent()).toBe('clip');
  }, 90_000);

  test('a failed transcode is retried from the list, and its progress goes live again', async () => {
    writeFileSync(breakFlag, '');
    await page.getByLabel('Video file').setInputFiles(path.join(work, 'Broken then fixed.mp4'));
    await page.getByRole('button', { name: 'Upload' }).click();
    const row = rowOf('Broken then fixed');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 90_000, interval: 250 }).toBe('failed');
    rmSync(breakFlag);
    await row.getByRole('button', { name: 'Retry' }).click();
    // The answer to the retry shows at once, and the live feed carries the row to Ready without a reload.
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000, interval: 100 }).not.toBe('failed');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000, interval: 250 }).toBe('ready');
    expect(await row.locator('.rendition-ready').count()).toBeGreaterThan(0);
  }, 180_000);

  test('fits the phone’s width in dark mode, the library table included (Delete is on the video’s page)', async () => {
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    const wrap = page.locator('.table-wrap');
    expect(await wrap.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
  });

  test('a video’s page: a labelled rename that says it saved, and a Delete that leads back', async () => {
    await rowOf('clip').getByRole('link', { name: 'clip' }).click();
    await page.getByRole('heading', { name: 'clip', level: 1 }).waitFor();
    const title = page.getByLabel('Title');
    expect(await title.inputValue()).toBe('clip');
    await title.fill('');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByText('A title cannot be empty.').waitFor();
    await title.fill('Test card');
    await title.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('heading', { name: 'Test card', level: 1 }).waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete video' }).click();
    await page.waitForURL(/\/videos\?app=default$/);
    await page.getByRole('heading', { name: 'Videos', level: 1 }).waitFor();
    await expect.poll(() => rowOf('Test card').count()).toBe(0);
    await expect.poll(() => rowOf('Broken then fixed').count()).toBe(1);
  });

  test('/watch on a phone keeps the video’s shape and links back to its page in the dashboard', async () => {
    const href = await rowOf('Broken then fixed').getByRole('link').getAttribute('href');
    const id = /\/videos\/([^?]+)/.exec(href ?? '')![1]!;
    const watch = await browser.newPage({ width: 390, height: 844 });
    await watch.goto(`${s.url}/watch/${id}`);
    await watch.waitForSelector('video');
    await expect.poll(() => watch.locator('#title').textContent()).toBe('Broken then fixed');
    const box = (await watch.locator('video').boundingBox())!;
    expect(box.height, 'a 16:9 video at 390 px is about 220 px tall, not the whole screen').toBeLessThan(300);
    await watch.getByRole('link', { name: '← Videos' }).click();
    await watch.waitForURL(new RegExp(`/videos/${id}\\?app=default$`));
    await watch.getByRole('heading', { name: 'Broken then fixed', level: 1 }).waitFor();
    await watch.close();
  });

  test('/embed with a guest token plays without an error in the console of the embedding site', async () => {
    const href = await rowOf('Broken then fixed').getByRole('link').getAttribute('href');
    const id = /\/videos\/([^?]+)/.exec(href ?? '')![1]!;
    const token = (await page.evaluate(`(async () => {
      const csrf = decodeURIComponent((document.cookie.match(/m3w_csrf=([^;]*)/) || [])[1] || '');
      const r = await fetch('/api/v1/guest-tokens', { method: 'POST', headers: { 'content-type': 'application/json',
        'x-csrf-token': csrf }, body: JSON.stringify({ resource: 'video:${id}', ttlSeconds: 600 }) });
      return (await r.json()).token;
    })()`)) as string;
    const before = browser.problems.length;
    const embed = await browser.newPage({ width: 640, height: 360 });
    await embed.goto(`${s.url}/embed/${id}?token=${encodeURIComponent(token)}`);
    await embed.waitForSelector('video');
    await embed.evaluate("(() => { const v = document.querySelector('video'); v.muted = true; return v.play(); })()");
    await expect
      .poll(() => embed.evaluate("document.querySelector('video').currentTime"), { timeout: 30_000 })
      .toBeGreaterThan(0.5);
    expect(await embed.locator('.bar').isVisible()).toBe(false);
    expect(browser.problems.slice(before)).toEqual([]);
    await embed.close();
  });

  test('no uncaught error and no CSP violation (the refused upload’s 415 aside)', () => {
    const unexpected = browser.problems.filter((p) => !/status of 415/.test(p));
    expect(unexpected).toEqual([]);
    expect(existsSync(breakFlag)).toBe(false);
  });
});
