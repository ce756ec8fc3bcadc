// The player pages as served: /watch/<id> and /embed/<id> answer the player's HTML with a CSP that allows
// hls.js's MediaSource blobs and nothing inline, /watch framable by the dashboard only and /embed by any site;
// hls.js and the tus client stay out of the dashboard's first load; and in Chromium the pages explain what is
// wrong (no token, no such video) instead of failing silently, without a CSP violation.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt, type WebManifest } from '../../build/web.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { needs } from '../helpers/requirements.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let manifest: WebManifest;

beforeAll(async () => {
  manifest = await ensureWebBuilt();
  s = await startTestServer();
}, 60_000);
afterAll(() => s?.close());

async function fetchText(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}${path}`, { headers });
  return { res, text: await res.text() };
}

/** Static `import"./chunk-…"` of a bundle: loaded with it, so part of its first load. */
function staticChunks(js: string): string[] {
  return [...js.matchAll(/(?:import|from)\s*"\.\/(chunk-[A-Z0-9]+\.js)"/g)].map((m) => `/assets/${m[1]}`);
}

describe('player pages over HTTP', () => {
  test('/watch/<id> is the player page, framable only by this origin, with blob: media allowed', async () => {
    const { res, text } = await fetchText('/watch/abc_123-X');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("media-src 'self' blob:");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain('unsafe-inline');
    // frame-ancestors decides (X-Frame-Options has no form for "this origin only" that all browsers honour).
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(text).toContain(`<script type="module" src="${manifest.player.js}"></script>`);
    expect(text).toContain(`href="${manifest.player.css}"`);
    expect(text, 'no inline script').not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(text).not.toContain(manifest.entry.js);
  });

  test('/embed/<id> may be framed by any site (its guest token is the access control), and leaks no referrer', async () => {
    const { res } = await fetchText('/embed/abc?token=x');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('the dashboard’s Videos pages are client-side routes: index.html, not the player', async () => {
    for (const path of ['/videos', '/videos/abc_123', '/videos/']) {
      const { res, text } = await fetchText(path);
      expect(res.status, path).toBe(200);
      expect(text, path).toContain(manifest.entry.js);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  test('a malformed video id is the usual 404 envelope', async () => {
    for (const path of ['/watch/a.b', '/watch/' + 'x'.repeat(65), '/embed/a%20b', '/watch/', '/watch/a/b']) {
      const { res, text } = await fetchText(path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(text).error.code, path).toBe('NOT_FOUND');
    }
  });

  test('hls.js, the tus client and the Videos page stay out of the dashboard’s first load', async () => {
    const bundle = async (path: string) => (await fetchText(path)).text;
    const appJs = await bundle(manifest.entry.js);
    // The manifest's first load is index.html, the CSS, the entry and every chunk the entry imports statically.
    expect(manifest.firstLoad).toEqual(
      expect.arrayContaining(['/index.html', manifest.entry.css, manifest.entry.js, ...staticChunks(appJs)]),
    );
    const firstLoad = (await Promise.all(manifest.firstLoad.map(bundle))).join('\n');
    // Strings only these carry: hls.js's event names, tus's protocol header, the Videos page's upload form.
    // The player page loads hls.js itself or through a chunk it shares with the room page.
    const playerJs = await bundle(manifest.player.js);
    const playerLoad = [playerJs, ...(await Promise.all(staticChunks(playerJs).map(bundle)))].join('\n');
    expect(playerLoad).toContain('hlsManifestParsed');
    expect(firstLoad).not.toContain('hlsManifestParsed');
    expect(firstLoad).not.toContain('Upload-Offset');
    expect(firstLoad).not.toContain('Upload a video');
    const lazy = [...appJs.matchAll(/import\("\.\/(chunk-[A-Z0-9]+\.js)"\)/g)].map((m) => `/assets/${m[1]}`);
    expect(lazy.length).toBeGreaterThan(0);

    const gz = async (path: string) => gzipSync(Buffer.from(await bundle(path)), { level: 9 }).length;
    const sum = async (paths: string[]) => (await Promise.all(paths.map(gz))).reduce((a, b) => a + b, 0);
    const dashboard = await sum(manifest.firstLoad);
    const player = await sum(['/watch/x', manifest.player.css, manifest.player.js]);
    const sdk = await gz('/sdk/m3w-web.js');
    console.log(`first load gzipped: dashboard ${dashboard} B, player pages ${player} B, SDK ${sdk} B`);
    expect(dashboard).toBeLessThanOrEqual(44 * 1000);
    expect(sdk).toBeLessThan(5 * 1024);
  });
});

describe.skipIf(!needs('chromium'))('player pages in Chromium', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());

  test('/embed without a token says what is missing', async () => {
    const page = await browser.newPage({ width: 390, height: 700 });
    await page.goto(`${s.url}/embed/abc`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('has no token');
    await page.close();
  });

  test('/embed and /watch with a video the server cannot play say so instead of a broken player', async () => {
    for (const path of ['/embed/nosuchvideo?token=not-a-token', '/watch/nosuchvideo']) {
      const page = await browser.newPage();
      await page.goto(`${s.url}${path}`);
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 })
        .toMatch(/no such video|expired or is not valid|Sign in to watch/);
      expect(await page.locator('video').count()).toBe(0);
      await page.close();
    }
  });

  test('no uncaught error and no CSP violation on the way', () => {
    // Only the refusals the pages above ask for (4xx answers); a 5xx or a failed load is a problem.
    expect(
      browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p)),
    ).toEqual([]);
  });
});
