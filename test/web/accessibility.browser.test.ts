// axe-core on every dashboard page, in a real Chromium against a real server with data in it (sessions with
// failures, live plays on two channels, moments, a member, a video and its room when ffmpeg is there): at a
// desktop's and a phone's width, in the light and the dark colour scheme. A serious or critical violation fails
// the test, named with its page, width, scheme, rule and elements, all of them at once.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { checksMoreWith, FFMPEG, needs } from '../helpers/requirements.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { makeVideo, MEDIA_CONFIG, uploadFile, waitForVideo } from '../media/media-helpers.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const VIEWS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;
const ADMIN = { email: 'owner@example.com', password: 'a long enough password' };

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** The serious and critical violations axe finds on the page as it is now. */
async function seriousViolations(page: Page): Promise<Violation[]> {
  // Evaluated over the DevTools protocol, so the dashboard's CSP (script-src 'self') does not stop it.
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(AXE_SOURCE);
  const all = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')) })))`)) as Violation[];
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Waits until the page drew its heading and nothing says "Loading…". */
async function settled(page: Page): Promise<void> {
  await page.locator('h1').first().waitFor({ timeout: 15_000 });
  await expect.poll(() => page.locator('.loading').count(), { timeout: 15_000 }).toBe(0);
}

// With ffmpeg the sweep adds a video's page and a room's (required under M3W_REQUIRE_ALL=1, as in CI).
const VIDEO = checksMoreWith('ffmpeg');

describe.skipIf(!needs('chromium'))('axe-core on every dashboard page (desktop and phone, light and dark)', () => {
  let s: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let token = '';
  const found: string[] = [];
  const checked: string[] = [];

  /** Runs axe on `path` in every width and scheme, noting what it finds. */
  async function sweep(path: string, ready: (p: Page) => Promise<void> = settled): Promise<void> {
    for (const view of VIEWS)
      for (const scheme of SCHEMES) {
        await page.setViewportSize({ width: view.width, height: view.height });
        await page.emulateMedia({ colorScheme: scheme });
        await page.goto(`${s.url}${path}`);
        await ready(page);
        checked.push(`${path} ${view.name} ${scheme}`);
        for (const v of await seriousViolations(page))
          found.push(
            `${path} at ${view.name} (${scheme}): [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`,
          );
      }
  }

  beforeAll(async () => {
    await ensureWebBuilt();
    s = await startTestServer({ liveIntervalMs: 500, ...(VIDEO ? MEDIA_CONFIG : {}) });
    browser = await launchBrowser();
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  test('signed out: the setup page, the login page and the 404 page', async () => {
    const setupToken = s.server.setupToken!;
    await sweep(`/setup#${setupToken}`, async (p) => {
      await p.getByRole('button', { name: 'Create admin and sign in' }).waitFor();
    });
    token = (await setupAdmin(s, ADMIN)).accessToken;
    await sweep('/login', async (p) => {
      await p.getByRole('button', { name: 'Sign in' }).waitFor();
    });
    await sweep('/no-such-page');
    // The check itself can fail: a button without a name on the page is a critical violation axe reports.
    await page.evaluate("document.querySelector('main').append(document.createElement('button'))");
    expect((await seriousViolations(page)).map((v) => v.id)).toContain('button-name');
    expect(found, `${found.length} serious or critical violations:\n${found.join('\n')}`).toEqual([]);
  }, 180_000);

  test('signed in, with data: every page of the dashboard', async () => {
    // Data: 40 sessions (some failed) in two contents, plays on two channels, moments, a member, an app.
    const now = Date.now();
    const sessions = Array.from({ length: 40 }, (_, i) =>
      sdkSession({
        sessionId: `axe-${i}`,
        timestamp: now - i * 120_000 - 30_000,
        contentId: `content-${i % 2}`,
        contentTitle: ['Big Buck Bunny', 'Sintel'][i % 2],
        errorCount: i % 6 === 0 ? 1 : 0,
        errorCode: i % 6 === 0 ? 'ERROR_CODE_IO_BAD_HTTP_STATUS' : null,
      }),
    );
    expect((await postSessions(s.url, sessions, { key: s.apiKey })).status).toBe(200);
    for (const [id, media] of [
      ['v1', 'news'],
      ['v2', 'news'],
      ['v3', 'sport'],
    ] as const) {
      const res = await fetch(`${s.url}/api/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': s.apiKey },
        body: JSON.stringify({
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
          opened_at: now,
        }),
      });
      expect(res.status).toBe(200);
    }
    for (const [metric, dimension, value, baseline, peak] of [
      ['startup_p95_ms', 'global', '', 1800, 5100],
      ['concurrent_viewers', 'channel', 'news', 1, 2],
    ] as const)
      await s.server.store.saveMoment({
        id: 0,
        appId: 'default',
        kind: 'spike',
        metric,
        dimension,
        value,
        startedAt: now - 15 * 60_000,
        endedAt: now - 10 * 60_000,
        peakValue: peak,
        baseline,
        zScore: 8,
        threshold: 3,
      });
    expect((await call(s, 'POST', '/api/v1/apps', { token, body: { id: 'second', name: 'Second app' } })).status).toBe(
      201,
    );
    await createUser(s, token, 'member@example.com', 'member', ['second']);
    let video = '';
    let room = '';
    if (VIDEO) {
      const clip = await makeVideo(FFMPEG, makeTempDir('m3w-axe-'), 'clip', { width: 320, height: 180, seconds: 2 });
      video = (await uploadFile(s, token, clip, { title: 'Test card', appId: 'default' })).json.id as string;
      await waitForVideo(s, token, video);
      room = (await call(s, 'POST', '/api/v1/rooms', { token, body: { name: 'Movie night', videoId: video } })).json!
        .id as string;
    }

    await page.goto(`${s.url}/login`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));

    const pages = [
      '/overview',
      '/overview?range=7d',
      '/live',
      '/live/news',
      '/breakdowns',
      '/sessions',
      '/sessions/axe-0',
      '/moments?range=7d',
      '/videos',
      ...(video ? [`/videos/${video}`] : []),
      '/settings/keys',
      '/settings/apps',
      '/settings/users',
      '/settings/audit',
      '/settings/account',
      '/welcome',
      '/connect',
      '/no-such-page',
    ];
    for (const path of pages) await sweep(path);
    if (room)
      await sweep(`/rooms/${room}`, async (p) => {
        await p.locator('video').waitFor({ timeout: 15_000 });
      });
    expect(checked.length).toBe(4 * (pages.length + 3 + (room ? 1 : 0)));
    if (VIDEO) expect(checked).toContain(`/rooms/${room} phone dark`);
    expect(found, `${found.length} serious or critical violations:\n${found.join('\n')}`).toEqual([]);
    // The unknown URL's own document answers 404 (on purpose), which Chromium logs; nothing else may.
    expect(browser.problems.filter((p) => !/\(from [^)]*\/no-such-page\): .*status of 404/.test(p))).toEqual([]);
  }, 600_000);
});
