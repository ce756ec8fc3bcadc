// ffmpegPath "none" (M3W_FFMPEG=none) turns video off on purpose, on a machine that has ffmpeg: no discovery, health
// says video is off and why, uploads (multipart and tus) answer 503 FFMPEG_UNAVAILABLE with nothing stored, and the
// dashboard's Videos page explains instead of offering a broken form.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { loadConfig } from '../../src/config/index.ts';
import { discoverFfmpeg } from '../../src/media/index.ts';
import { call, login } from '../helpers/accounts.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const OWNER = { email: 'owner@example.com', password: 'a long enough password' };

test('M3W_FFMPEG=none is the config value "none", and discovery then finds nothing', async () => {
  expect(loadConfig({ env: { M3W_FFMPEG: 'none' }, cwd: '/nonexistent' }).ffmpegPath).toBe('none');
  // Debian's ffmpeg is on PATH here, so a null answer means discovery did not run.
  expect(await discoverFfmpeg({ ffmpegPath: 'none', encoder: 'auto', env: process.env })).toBeNull();
});

describe.skipIf(!needs('chromium'))('a server with video turned off', () => {
  let s: TestServer;
  let admin: string;
  let browser: TestBrowser;
  let page: Page;
  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({ ffmpegPath: 'none' });
    browser = await launchBrowser();
    page = await browser.newPage();
    await setupAdminInPage(page, s.url, s.server.setupToken!, OWNER);
    admin = (await login(s, OWNER.email, OWNER.password)).accessToken;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('health says video is off and why', async () => {
    const r = await call(s, 'GET', '/api/v1/health', { token: admin });
    expect(r.status).toBe(200);
    expect(r.json!.ffmpeg.available).toBe(false);
    expect(r.json!.ffmpeg.hint).toMatch(/turned off.*"none"/);
  });

  test('a multipart upload answers 503 FFMPEG_UNAVAILABLE, nothing stored', async () => {
    const form = new FormData();
    form.set('file', new Blob([Buffer.alloc(1024)], { type: 'video/mp4' }), 'clip.mp4');
    const res = await fetch(`${s.url}/api/v1/videos?app=default`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: form,
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('FFMPEG_UNAVAILABLE');
    expect(body.error.message).toContain('M3W_FFMPEG=none');
    const list = await call(s, 'GET', '/api/v1/videos?app=default', { token: admin });
    expect(list.json!.videos).toEqual([]);
  });

  test('a tus upload is refused the same way', async () => {
    const res = await fetch(`${s.url}/api/v1/uploads?app=default`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'tus-resumable': '1.0.0',
        'upload-length': '1024',
        'upload-metadata': `filename ${Buffer.from('clip.mp4').toString('base64')}`,
      },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FFMPEG_UNAVAILABLE');
  });

  test('the Videos page says video is turned off instead of offering the form', async () => {
    await page.goto(`${s.url}/videos`);
    await page.getByRole('heading', { name: 'ffmpeg is needed to host video' }).waitFor();
    expect(await page.locator('.ffmpeg-missing').textContent()).toMatch(/turned off.*"none"/);
    expect(await page.getByLabel('Video file').count()).toBe(0);
    expect(browser.problems).toEqual([]);
  });
});
