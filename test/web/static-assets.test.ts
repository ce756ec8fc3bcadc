// The dashboard as the server hands it out: pages answer index.html uncached, hashed files are cached for a year,
// compressed as the client accepts, revalidated by ETag, and every answer carries the strict security headers.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt, type WebManifest } from '../../build/web.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let manifest: WebManifest;

beforeAll(async () => {
  manifest = await ensureWebBuilt();
  s = await startTestServer();
});
afterAll(() => s?.close());

/** A raw GET, so that no client library decompresses or adds Accept-Encoding behind our back. */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard pages', () => {
  test.each([
    '/',
    '/setup',
    '/login',
    '/overview',
    '/live',
    '/breakdowns',
    '/sessions',
    '/sessions/abc-123',
    '/moments',
    '/settings',
    '/settings/keys',
    '/connect',
    '/welcome',
    '/live/news',
    '/videos',
  ])('%s serves index.html, never cached, with the security headers', async (path) => {
    const res = await rawGet(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const html = res.body.toString('utf8');
    expect(html).toContain(`<script type="module" src="${manifest.entry.js}"></script>`);
    expect(html).toContain(`href="${manifest.entry.css}"`);
    expect(html, 'no inline script').not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  test('an unknown path is the usual 404 envelope, not the dashboard, for an API client', async () => {
    for (const path of ['/no/such/route', '/api/v1/nothing', '/assets/missing-AAAA.js', '/settings/../../etc/passwd']) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body.toString()).error.code).toBe('NOT_FOUND');
    }
  });

  test('a browser at an unknown URL gets the dashboard with status 404 (its "Page not found"); API paths stay JSON', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/no/such/route', '/overveiw', '/settings/nope/deeper']) {
      const res = await rawGet(path, browser);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type'], path).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control'], path).toBe('no-store');
      expect(res.headers.etag, path).toBeUndefined();
      expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
      expect(res.body.toString('utf8')).toContain(manifest.entry.js);
    }
    for (const path of ['/api/v1/nothing', '/v1/nothing', '/media/nothing', '/ws/nothing', '/assets/missing-AAAA.js']) {
      const res = await rawGet(path, browser);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body.toString()).error.code, path).toBe('NOT_FOUND');
    }
  });

  test('the dashboard routes are declared outside the API: /openapi.json does not list them', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((p) => p.includes('*'))).toBe(false);
    expect(doc.paths['/']).toBeUndefined();
  });
});

describe('hashed files', () => {
  test('are immutable for a year and negotiated: brotli, then gzip, then identity', async () => {
    const js = manifest.entry.js;
    expect(js).toMatch(/^\/assets\/app-[A-Z0-9]{8}\.js$/);
    const identity = await rawGet(js);
    expect(identity.status).toBe(200);
    expect(identity.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(identity.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers.vary).toBe('Accept-Encoding');

    const br = await rawGet(js, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(identity.body)).toBe(true);
    expect(br.body.length).toBeLessThan(identity.body.length / 2);

    const gz = await rawGet(js, { 'accept-encoding': 'gzip;q=1, br;q=0' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(identity.body)).toBe(true);

    const none = await rawGet(js, { 'accept-encoding': 'identity' });
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.body.equals(identity.body)).toBe(true);
  });

  test('answer 304 to a matching If-None-Match, and the full file to a stale one', async () => {
    const css = manifest.entry.css;
    const first = await rawGet(css);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await rawGet(css, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const stale = await rawGet(css, { 'if-none-match': '"0000"' });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(first.body)).toBe(true);
  });

  test('the first load (HTML, JS and CSS, gzipped) stays near the 40 KB the README states', async () => {
    let total = 0;
    for (const path of ['/', manifest.entry.js, manifest.entry.css]) {
      const res = await rawGet(path, { 'accept-encoding': 'gzip' });
      expect(res.headers['content-encoding']).toBe('gzip');
      total += res.body.length;
    }
    console.log(`first load: ${total} bytes gzipped`);
    // The README says 40 KB (40.5 KB measured); a little room for growth, none for a new library in the
    // entry bundle (load it lazily, or measure again and correct the README and this bound together).
    expect(total).toBeLessThanOrEqual(44 * 1000);
    expect(total).toBeGreaterThan(30 * 1000);
  });
});
