// Two Chromium pages in one room — the signed-in host and a guest who came through an invite link: the host
// presses play, then seeks; after each, once settled, the two players' currentTime agree within 150 ms.
// Also: the page at phone width, and screenshots for the README.
import { copyFileSync, mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { call, login } from '../helpers/accounts.ts';
import { launchBrowser, setupAdminInPage, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from '../media/media-helpers.ts';

describe.skipIf(!needs('chromium', 'ffmpeg'))('a watch party in two Chromium pages', () => {
  const OWNER = { email: 'host@example.com', password: 'a long enough password' };
  let ts: TestServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    await ensureWebBuilt();
    ts = await startTestServer(MEDIA_CONFIG);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });

  // Functions that run in the page (not strings: the room page's CSP forbids eval) reach its document through
  // globalThis, since the tests' tsconfig has no DOM types.
  type InPage = { document: { getElementById(id: string): any } };
  /** currentTime of both pages, brought to one instant (each sample carries the wall clock it was read at). */
  async function positions(a: Page, b: Page): Promise<{ a: number; b: number; pausedA: boolean; pausedB: boolean }> {
    const read = (p: Page) =>
      p.evaluate(() => {
        const v = (globalThis as unknown as InPage).document.getElementById('room-video');
        return { t: v.currentTime, at: Date.now(), paused: v.paused, rate: v.playbackRate };
      });
    const [x, y] = await Promise.all([read(a), read(b)]);
    const common = Math.max(x.at, y.at);
    const at = (s: typeof x) => s.t + (s.paused ? 0 : ((common - s.at) / 1000) * s.rate);
    return { a: at(x), b: at(y), pausedA: x.paused, pausedB: y.paused };
  }

  async function settled(a: Page, b: Page, want: (p: { a: number; pausedA: boolean }) => boolean): Promise<number> {
    // Settled: both agree for three samples in a row (drift correction may take a couple of seconds).
    let streak = 0;
    let last = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const p = await positions(a, b);
      last = Math.abs(p.a - p.b);
      streak = want(p) && last < 0.15 ? streak + 1 : 0;
      if (streak >= 3) return last;
    }
    return last;
  }

  test('host and guest stay within 150 ms through a play and a seek', async () => {
    const ff = await findFfmpeg();
    if (!ff) throw new Error('this test needs ffmpeg');
    const host = await browser.newPage();
    await setupAdminInPage(host, ts.url, ts.server.setupToken!, OWNER);
    const token = (await login(ts, OWNER.email, OWNER.password)).accessToken;
    const file = await makeVideo(ff.ffmpeg.path, makeTempDir('m3w-room-'), 'party', {
      width: 320,
      height: 180,
      seconds: 30,
    });
    const videoId = (await uploadFile(ts, token, file, { appId: 'default', title: 'Party clip' })).json.id as string;
    await waitForVideo(ts, token, videoId, (v) => v.status === 'ready', 90_000);
    const room = (await call(ts, 'POST', '/api/v1/rooms', { token, body: { name: 'Friday film', videoId } })).json!;
    const invite = (await call(ts, 'POST', `/api/v1/rooms/${room.id}/invites`, { token, body: { displayName: 'Sam' } }))
      .json!;

    await host.goto(`${ts.url}/rooms/${room.id}`);
    const guest = await browser.newPage();
    await guest.goto(invite.joinUrl as string);
    for (const p of [host, guest])
      await p.waitForFunction(
        () => (globalThis as unknown as InPage).document.getElementById('room-video').readyState >= 2,
        undefined,
        {
          timeout: 20_000,
        },
      );
    await host.getByText('Sam').first().waitFor();
    await guest.getByRole('heading', { name: 'Friday film' }).waitFor();
    // The guest sees no dashboard, no invite button.
    expect(await guest.locator('#room-invite').isHidden()).toBe(true);

    await host.locator('#room-play').click();
    const afterPlay = await settled(host, guest, (p) => !p.pausedA && p.a > 1);
    expect(afterPlay).toBeLessThan(0.15);

    await host.locator('#room-seek-to').fill('15');
    await host.locator('#room-seek').click();
    const afterSeek = await settled(host, guest, (p) => p.a >= 15 && p.a < 20);
    expect(afterSeek).toBeLessThan(0.15);

    // Chat with a link to the moment; the host sees the guest's drift and round trip.
    await guest.getByLabel('Message').fill('this part!');
    await guest.getByRole('button', { name: 'Send' }).click();
    await host.getByText('this part!').waitFor();
    await host.waitForFunction(() =>
      /RTT \d+ ms · drift -?\d+ ms/.test(
        (globalThis as unknown as InPage).document.getElementById('room-members')?.textContent ?? '',
      ),
    );
    // The host's view: where each member stands (in sync, behind, buffering) and the room's chat figures.
    await host.waitForFunction(() =>
      /in sync|behind|ahead/.test(
        (globalThis as unknown as InPage).document.getElementById('room-members')?.textContent ?? '',
      ),
    );
    await host.waitForFunction(() =>
      /\d+ watching · [1-9]\d* messages?/.test(
        (globalThis as unknown as InPage).document.getElementById('room-stats')?.textContent ?? '',
      ),
    );
    expect(await guest.locator('#room-stats').isHidden()).toBe(true);
    console.log(
      `room sync: after play ${(afterPlay * 1000).toFixed(0)} ms apart, after seek ${(afterSeek * 1000).toFixed(0)} ms apart`,
    );

    const shot = await browser.screenshot(host, 'room-page');
    // The README's picture is refreshed on request only: a test run leaves tracked files alone.
    if (process.env.M3W_UPDATE_DOCS === '1') {
      mkdirSync('docs', { recursive: true });
      copyFileSync(shot, 'docs/room-page.png');
    }
    await guest.setViewportSize({ width: 390, height: 800 });
    const overflow = await guest.evaluate(() => {
      const g = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return g.document.documentElement.scrollWidth - g.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await browser.screenshot(guest, 'room-page-phone');
    expect(browser.problems).toEqual([]);
  }, 180_000);
});
