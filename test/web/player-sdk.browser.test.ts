// The browser QoE SDK on a third-party page, for real: ffmpeg makes an fMP4 HLS clip, a small site on its own
// origin serves it with its own hls.js and loads m3w's /sdk/m3w-web.js, Chromium plays it, and the sessions the
// SDK reports (with the app's ingest key, X-API-Key) arrive in a real m3w server's store with plausible figures:
// a startup time that includes a slow first segment, a stall that a late segment causes, the bitrate of the
// rendition played, reports every interval and one when the page goes away, and a fatal error counted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../../build/web.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { FFMPEG, needs } from '../helpers/requirements.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';

const HLS_JS = fileURLToPath(new URL('../../node_modules/hls.js/dist/hls.min.js', import.meta.url));
const SEGMENT_SECONDS = 2;
const CLIP_SECONDS = 10;
/** Delays the site adds to segment files, by name: a slow start and a stall later on. */
const FIRST_SEGMENT_DELAY_MS = 800;
const STALL_SEGMENT_DELAY_MS = 7000;

/** A 640×360 H.264/AAC clip as fMP4 HLS with a master playlist, made by ffmpeg the way m3w's ladder is. */
function makeClip(dir: string): { bandwidth: number } {
  mkdirSync(dir, { recursive: true });
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=640x360:rate=25:duration=${CLIP_SECONDS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    '500k',
    '-g',
    '50',
    '-keyint_min',
    '50',
    '-sc_threshold',
    '0',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'hls',
    '-hls_time',
    String(SEGMENT_SECONDS),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    'init.mp4',
    '-hls_segment_filename',
    path.join(dir, 'seg%d.m4s'),
    '-master_pl_name',
    'master.m3u8',
    path.join(dir, 'media.m3u8'),
  ];
  const run = spawnSync(FFMPEG, args, { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`);
  const master = readFileSync(path.join(dir, 'master.m3u8'), 'utf8');
  const bandwidth = Number(/BANDWIDTH=(\d+)/.exec(master)?.[1]);
  if (!bandwidth) throw new Error(`no BANDWIDTH in the master playlist:\n${master}`);
  return { bandwidth };
}

const PAGE_HTML = (m3wUrl: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>A site with its own player</title></head>
<body>
<video id="v" muted playsinline width="640" height="360"></video>
<script src="/hls.min.js"></script>
<script src="${m3wUrl}/sdk/m3w-web.js"></script>
<script src="/page.js"></script>
</body></html>`;

// The site's own player code: its hls.js, m3w's reporter attached to it with the app's ingest key.
const PAGE_JS = `
const q = new URLSearchParams(location.search);
window.reports = [];
const video = document.getElementById('v');
const hls = new Hls({ enableWorker: false });
window.reporter = M3W.attach(video, {
  endpoint: location.origin + '/v1/sessions',
  auth: { apiKey: q.get('key') },
  hls,
  contentId: q.get('content') || 'clip-1',
  contentTitle: 'Test pattern',
  playerName: 'site-player',
  playerVersion: Hls.version,
  reportIntervalMs: Number(q.get('interval') || 30000),
  onReport: (r, status) => window.reports.push({ ...r, status }),
});
hls.loadSource(q.get('src') || '/media/master.m3u8');
hls.attachMedia(video);
video.play().catch((e) => console.warn('play: ' + e.message));
`;

interface Site {
  url: string;
  server: Server;
  /** Extra delay per file name, changed by the tests. */
  delays: Map<string, number>;
}

/**
 * The third-party site: its page, its hls.js, the clip, and /v1/sessions passed through to m3w — a site may
 * report through its own origin (the request, X-API-Key and Origin included, is m3w's); test/cors.test.ts posts
 * to m3w directly.
 */
function startSite(mediaDir: string, m3wUrl: string): Promise<Site> {
  const delays = new Map<string, number>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (url.pathname === '/v1/sessions' && req.method === 'POST') {
      const target = new URL('/v1/sessions', m3wUrl);
      const headers = { ...req.headers, host: target.host };
      const upstream = request(target, { method: 'POST', headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    const send = (type: string, body: Buffer | string) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/') return send('text/html; charset=utf-8', PAGE_HTML(m3wUrl));
    if (url.pathname === '/page.js') return send('text/javascript', PAGE_JS);
    if (url.pathname === '/hls.min.js') return send('text/javascript', readFileSync(HLS_JS));
    const m = /^\/media\/([a-z0-9]+\.(m3u8|m4s|mp4))$/.exec(url.pathname);
    if (m && existsSync(path.join(mediaDir, m[1]!))) {
      const body = readFileSync(path.join(mediaDir, m[1]!));
      const type = m[2] === 'm3u8' ? 'application/vnd.apple.mpegurl' : 'video/mp4';
      setTimeout(() => send(type, body), delays.get(m[1]!) ?? 0);
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${addr.port}`, server, delays });
    }),
  );
}

interface Report {
  sessionId: string;
  timestamp: number;
  status: number;
  startupTimeMs: number | null;
  playTimeMs: number;
  rebufferCount: number;
  rebufferTimeMs: number;
  errorCount: number;
  errorCode: string | null;
}

describe.skipIf(!needs('chromium', 'ffmpeg'))('the m3w-web SDK on a third-party page, in Chromium', () => {
  let m3w: TestServer;
  let site: Site;
  let browser: TestBrowser;
  let bandwidth = 0;
  let segments: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    const mediaDir = path.join(makeTempDir('m3w-clip-'), 'hls');
    ({ bandwidth } = makeClip(mediaDir));
    segments = readdirSync(mediaDir)
      .filter((f) => /^seg\d+\.m4s$/.test(f))
      .sort((a, b) => Number(a.slice(3, -4)) - Number(b.slice(3, -4)));
    m3w = await startTestServer();
    expect(m3w.apiKey, 'the first start creates an ingest key').toMatch(/^m3w_/);
    site = await startSite(mediaDir, m3w.url);
    // The site's pages send the browser's Origin (through its proxy too): the key must allow that origin.
    const [bootstrapKey] = await m3w.server.store.listApiKeys();
    await m3w.server.store.setApiKeyOrigins(bootstrapKey!.prefix, [site.url]);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.server.close(r));
    await m3w?.close();
  });

  const stored = async (sessionId: string) => {
    const res = await fetch(`${m3w.url}/v1/sessions/${encodeURIComponent(sessionId)}`, {
      headers: { 'x-api-key': m3w.apiKey },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const reports = (page: Page) => page.evaluate('window.reports') as Promise<Report[]>;
  const open = async (params: Record<string, string>) => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/?${new URLSearchParams({ key: m3w.apiKey, ...params })}`);
    return page;
  };

  test('/sdk/m3w-web.js is served to other origins, and defines window.M3W without touching the page', async () => {
    const res = await fetch(`${m3w.url}/sdk/m3w-web.js`, { headers: { origin: 'https://example.org' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('cache-control')).not.toContain('immutable');
    const body = await res.text();
    expect(body.length).toBeLessThan(12_000);
    expect(body).toMatch(/^"use strict";var M3W=/);
  });

  test('a played clip arrives in the store: startup includes the slow first segment, bitrate is the rendition’s', async () => {
    site.delays.set(segments[0]!, FIRST_SEGMENT_DELAY_MS);
    const page = await open({ content: 'clip-startup', interval: '2000' });
    await page.waitForFunction("document.getElementById('v').ended", null, {
      timeout: 60_000,
    });
    site.delays.clear();
    await expect
      .poll(async () => (await reports(page)).filter((r) => r.status === 200).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    const sent = await reports(page);
    expect(new Set(sent.map((r) => r.sessionId)).size, 'one session, reported several times').toBe(1);
    const stamps = sent.map((r) => r.timestamp);
    expect(stamps, 'each report newer than the one before').toEqual([...stamps].sort((a, b) => a - b));
    expect(new Set(stamps).size).toBe(stamps.length);

    const { status, body } = await stored(sent[0]!.sessionId);
    expect(status).toBe(200);
    expect(body.contentId).toBe('clip-startup');
    expect(body.playerName).toBe('site-player');
    // The store kept the newest report: at least the newest of `sent`, and (the player may send one more between
    // reading `sent` and reading the store) a report the page did send.
    expect(body.timestamp as number, 'the store kept the newest report').toBeGreaterThanOrEqual(Math.max(...stamps));
    await expect.poll(async () => (await reports(page)).map((r) => r.timestamp)).toContain(body.timestamp);
    expect(body.startupTimeMs as number).toBeGreaterThanOrEqual(FIRST_SEGMENT_DELAY_MS);
    expect(body.startupTimeMs as number).toBeLessThan(15_000);
    expect(body.playTimeMs as number).toBeGreaterThan((CLIP_SECONDS - 2) * 1000);
    expect(body.playTimeMs as number).toBeLessThan((CLIP_SECONDS + 5) * 1000);
    expect(body.meanVideoFormatBitrate).toBe(bandwidth);
    expect(body.streamType).toBe('vod');
    expect(body.errorCount).toBe(0);
    expect(typeof body.totalDroppedFrames).toBe('number');
    expect(body.os).toBe('Linux');
    await page.close();
  }, 90_000);

  test('a segment that comes late is a rebuffer: counted, timed, and in the ratio', async () => {
    site.delays.set(segments[2]!, STALL_SEGMENT_DELAY_MS);
    const page = await open({ content: 'clip-stall' });
    await page.waitForFunction("document.getElementById('v').ended", null, {
      timeout: 60_000,
    });
    site.delays.clear();
    await expect.poll(async () => (await reports(page)).some((r) => r.status === 200 && r.playTimeMs > 0)).toBe(true);
    const sessionId = (await reports(page))[0]!.sessionId;
    // One late segment, one stall (a starved CPU could add a short one of its own, so at least one).
    await expect
      .poll(async () => (await stored(sessionId)).body.rebufferCount as number, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    const { body } = await stored(sessionId);
    // Two segments (4 s) were in hand when the third was asked for; it came 7 s later: about 3 s stuck.
    expect(body.rebufferTimeMs as number).toBeGreaterThan(1500);
    expect(body.rebufferTimeMs as number).toBeLessThan(STALL_SEGMENT_DELAY_MS + 1000);
    const ratio = body.rebufferRatio as number;
    expect(ratio).toBeCloseTo(
      (body.rebufferTimeMs as number) / ((body.rebufferTimeMs as number) + (body.playTimeMs as number)),
      3,
    );
    expect(ratio).toBeGreaterThan(0.1);
    await page.close();
  }, 90_000);

  test('leaving the page mid-play sends a last report that still arrives (fetch keepalive, with its key)', async () => {
    const page = await open({ content: 'clip-leave' });
    await page.waitForFunction("document.getElementById('v').currentTime > 3", null, {
      timeout: 30_000,
    });
    const first = (await reports(page))[0]!;
    expect(first.status, 'the report when the first frame showed').toBe(200);
    expect(first.playTimeMs).toBe(0);
    await page.goto('about:blank');
    await expect
      .poll(async () => (await stored(first.sessionId)).body.playTimeMs as number, { timeout: 10_000 })
      .toBeGreaterThan(2500);
    await page.close();
  }, 60_000);

  test('a fatal player error is counted and reported with hls.js’s code', async () => {
    const page = await open({ content: 'clip-missing', src: '/media/nothing.m3u8' });
    await expect.poll(async () => (await reports(page)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    const r = (await reports(page))[0]!;
    expect(r.status).toBe(200);
    const { body } = await stored(r.sessionId);
    expect(body.errorCount).toBe(1);
    expect(body.errorCode).toBe('hls:manifestLoadError');
    expect(body.startupTimeMs).toBeNull();
    await page.close();
  }, 60_000);

  test('the SDK raised no uncaught error or CSP complaint', () => {
    // Only the missing playlist the fatal-error case asks for (404); anything else is a problem.
    expect(
      browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 404/.test(p)),
    ).toEqual([]);
  });
});
