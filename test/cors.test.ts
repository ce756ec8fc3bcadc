// CORS on POST /v1/sessions, for real: a page on another origin (a small node:http site on its own port) loads
// m3w's /sdk/m3w-web.js in Chromium and reports a session with an ingest key. A key that allows the site's origin
// gets it stored; one that does not is refused with nothing stored. Also the preflight, the keys' allowedOrigins
// API (create, list, change, validation), requests without an Origin (unchanged), and the built-in player's
// playback credential, which works from m3w's own pages (an /embed frame on another site) and nowhere else.
import { createServer, type Server } from 'node:http';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../build/web.ts';
import { MAX_KEY_ORIGINS, normalizeOrigins } from '../src/auth/index.ts';
import { KEY_ORIGINS_MAX } from '../src/wire/apps.ts';
import { call, setupAdmin } from './helpers/accounts.ts';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

/** The third-party site: one page that loads the SDK from m3w and reports a session when asked. */
function startSite(m3wUrl: string): Promise<{ url: string; server: Server }> {
  const page = `<!doctype html><meta charset="utf-8"><title>shop</title>
<script src="${m3wUrl}/sdk/m3w-web.js"></script>
<video id="v" muted></video>
<iframe id="f" width="320" height="180"></iframe>
<script>
window.report = async (apiKey, contentId) => {
  const r = M3W.attach(document.getElementById('v'), { auth: { apiKey }, contentId, playerName: 'shop-player' });
  const status = await r.report();
  return { status, sessionId: r.sessionId };
};
</script>`;
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server });
    }),
  );
}

let m3w: TestServer;
let site: { url: string; server: Server };
let browser: TestBrowser;
let admin: string;

const newKey = async (body: Record<string, unknown>) =>
  call(m3w, 'POST', '/api/v1/apps/default/keys', { token: admin, body: { name: 'web', ...body } });
const storedStatus = async (sessionId: string) =>
  (await fetch(`${m3w.url}/v1/sessions/${encodeURIComponent(sessionId)}`, { headers: { 'x-api-key': m3w.apiKey } }))
    .status;

beforeAll(async () => {
  await ensureWebBuilt(); // the SDK and the player pages are served from the built web files
  m3w = await startTestServer();
  admin = (await setupAdmin(m3w)).accessToken;
  site = await startSite(m3w.url);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => site?.server.close(r));
  await m3w?.close();
});

describe('a page on another origin reporting with the browser SDK', () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage();
    await page.goto(`${site.url}/`);
    await page.waitForFunction('typeof window.M3W === "object"');
  });
  const report = (key: string, contentId: string) =>
    page.evaluate(`window.report(${JSON.stringify(key)}, ${JSON.stringify(contentId)})`) as Promise<{
      status: number;
      sessionId: string;
    }>;

  test('with a key that allows the origin: the session is stored', async () => {
    const created = await newKey({ allowedOrigins: [site.url] });
    expect(created.status).toBe(201);
    expect(created.json!.allowedOrigins).toEqual([site.url]);
    const r = await report(created.json!.key, 'clip-allowed');
    expect(r.status).toBe(200);
    expect(await storedStatus(r.sessionId)).toBe(200);
  });

  test('with a key that allows "*": stored too', async () => {
    const created = await newKey({ allowedOrigins: ['*'] });
    const r = await report(created.json!.key, 'clip-any');
    expect(r.status).toBe(200);
    expect(await storedStatus(r.sessionId)).toBe(200);
  });

  test('with a key that allows other origins, or none: refused, nothing stored', async () => {
    for (const allowedOrigins of [[], ['https://shop.example.com', 'http://127.0.0.1:1']]) {
      const created = await newKey({ allowedOrigins });
      const before = await m3w.server.store.countSessions('default');
      const r = await report(created.json!.key, 'clip-refused');
      // The browser cannot read a refusal that carries no Access-Control-Allow-Origin: fetch fails (status 0).
      expect(r.status).toBe(0);
      expect(await storedStatus(r.sessionId)).toBe(404);
      expect(await m3w.server.store.countSessions('default')).toBe(before);
    }
  });

  test('a key whose origins are changed applies the new list at once', async () => {
    const created = await newKey({});
    expect(created.json!.allowedOrigins).toEqual([]);
    expect((await report(created.json!.key, 'clip-late')).status).toBe(0); // also caches the key
    const patched = await call(m3w, 'PATCH', `/api/v1/apps/default/keys/${created.json!.prefix}`, {
      token: admin,
      body: { allowedOrigins: [`${site.url}/`] },
    });
    expect(patched.status).toBe(200);
    expect(patched.json!.allowedOrigins, 'stored as the browser sends it, trailing slash dropped').toEqual([site.url]);
    const r = await report(created.json!.key, 'clip-late');
    expect(r.status).toBe(200);
    expect(await storedStatus(r.sessionId)).toBe(200);
    const listed = await call(m3w, 'GET', '/api/v1/apps/default/keys', { token: admin });
    const row = listed.json!.keys.find((k: { prefix: string }) => k.prefix === created.json!.prefix);
    expect(row.allowedOrigins).toEqual([site.url]);
  });
});

describe('POST /v1/sessions over HTTP', () => {
  test('the preflight answers without a key: methods, headers, max age, Vary', async () => {
    const res = await fetch(`${m3w.url}/v1/sessions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-api-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['content-type', 'x-api-key', 'authorization', 'content-encoding']) expect(allowed).toContain(h);
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(res.headers.get('vary')).toContain('Origin');
  });

  test('a refused origin: 403 FORBIDDEN naming the origin and how to allow it, no Allow-Origin', async () => {
    const res = await postSessions(m3w.url, sdkSession({ sessionId: 'cors-refused' }), {
      key: m3w.apiKey,
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toContain('https://evil.example');
    expect(body.error.message).toContain('allowedOrigins');
    expect(await storedStatus('cors-refused')).toBe(404);
  });

  test('an allowed origin: 200 with Access-Control-Allow-Origin and Vary', async () => {
    const created = await newKey({ allowedOrigins: ['https://shop.example.com'] });
    const res = await postSessions(m3w.url, sdkSession({ sessionId: 'cors-allowed' }), {
      key: created.json!.key,
      headers: { origin: 'https://shop.example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  test('without an Origin header (SDKs, curl): unchanged, no CORS headers', async () => {
    const res = await postSessions(m3w.url, sdkSession({ sessionId: 'cors-none' }), { key: m3w.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('vary')).toBeNull();
    expect(await storedStatus('cors-none')).toBe(200);
  });

  test('bad origins are a 400 naming them; more than 20 refused; nothing created or changed', async () => {
    const keysBefore = (await m3w.server.store.listApiKeys('default')).length;
    const cases: unknown[] = [
      ['https://shop.example.com/path'],
      ['ftp://shop.example.com'],
      ['shop.example.com'],
      ['https://user:pw@shop.example.com'],
      ['https://shop.example.com?x=1'],
      ['https://exa mple.com'],
      'https://shop.example.com',
      [42],
      Array.from({ length: 21 }, (_, i) => `https://s${i}.example.com`),
    ];
    for (const allowedOrigins of cases) {
      const r = await newKey({ allowedOrigins });
      expect(r.status, JSON.stringify(allowedOrigins)).toBe(400);
      expect(r.json!.error.code).toBe('INVALID_SCHEMA');
      expect(r.json!.error.message).toContain('allowedOrigins');
    }
    expect((await m3w.server.store.listApiKeys('default')).length).toBe(keysBefore);
    const created = await newKey({ allowedOrigins: ['https://a.example.com'] });
    const bad = await call(m3w, 'PATCH', `/api/v1/apps/default/keys/${created.json!.prefix}`, {
      token: admin,
      body: { allowedOrigins: ['https://a.example.com/shop'] },
    });
    expect(bad.status).toBe(400);
    expect((await m3w.server.store.getApiKey(created.json!.prefix))!.allowedOrigins).toEqual(['https://a.example.com']);
    const other = await call(m3w, 'PATCH', '/api/v1/apps/nosuchapp/keys/m3w_00000000', {
      token: admin,
      body: { allowedOrigins: [] },
    });
    expect(other.status).toBe(404);
  });

  test('origins are normalised as browsers send them; the wire limit matches the auth part', () => {
    expect(
      normalizeOrigins(['HTTPS://Shop.Example.com/', 'https://shop.example.com:443', 'http://[::1]:8080']),
    ).toEqual(['https://shop.example.com', 'http://[::1]:8080']);
    expect(KEY_ORIGINS_MAX).toBe(MAX_KEY_ORIGINS);
  });
});

describe("the built-in player's playback credential", () => {
  // A credential is only good while its video exists in its app: two videos that are still uploading will do.
  beforeAll(async () => {
    for (const id of ['vid1', 'vid2'])
      await m3w.server.store.videos.createVideo({
        id,
        appId: 'default',
        title: id,
        status: 'uploading',
        uploadLength: null,
        createdAt: Date.now(),
      });
  });
  const credential = (videoId: string) =>
    m3w.server.media.signer.issueCredential({ appId: 'default', videoId, expiresAt: Date.now() + 600_000 });
  const post = (from: Page | Frame, token: string, sessionId: string, contentId: string) =>
    from.evaluate(`fetch(${JSON.stringify(`${m3w.url}/v1/sessions`)}, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: ${JSON.stringify(`Bearer ${token}`)} },
      body: ${JSON.stringify(JSON.stringify(sdkSession({ sessionId, contentId })))},
      credentials: 'omit',
      mode: 'cors',
    }).then((r) => r.status, () => 0)`) as Promise<number>;

  test('works from an /embed frame on another site (its requests carry m3w’s own origin)', async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/`);
    await page.evaluate(`document.getElementById('f').src = ${JSON.stringify(`${m3w.url}/embed/vid1?token=x`)}`);
    await expect.poll(() => page.frames().find((f) => f.url().startsWith(`${m3w.url}/embed/`)) ?? null).not.toBeNull();
    const frame = page.frames().find((f) => f.url().startsWith(`${m3w.url}/embed/`))!;
    await frame.waitForLoadState();
    expect(await post(frame, credential('vid1'), 'embed-session', 'vid1')).toBe(200);
    expect(await storedStatus('embed-session')).toBe(200);
  });

  test('refused from another origin: nothing stored', async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/`);
    expect(await post(page, credential('vid2'), 'foreign-session', 'vid2')).toBe(0);
    expect(await storedStatus('foreign-session')).toBe(404);
    const res = await fetch(`${m3w.url}/v1/sessions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${credential('vid2')}`,
        origin: site.url,
      },
      body: JSON.stringify(sdkSession({ sessionId: 'foreign-2', contentId: 'vid2' })),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(site.url);
  });
});
