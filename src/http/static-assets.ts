// The dashboard's built files (build/web.ts), held in memory and answered with the right caching, compression
// and security headers. They come from web/ beside the running code: dist/web, or inside the single executable
// (pkg's virtual filesystem).
// Everything is read once at start-up: the whole dashboard is a few hundred kilobytes.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ManifestEntry {
  type: string;
  etag: string;
  immutable: boolean;
}

interface WebManifest {
  entry: { js: string; css: string };
  files: Record<string, ManifestEntry>;
}

export interface WebAsset extends ManifestEntry {
  identity: Uint8Array;
  gzip: Uint8Array;
  brotli: Uint8Array;
}

export interface WebAssets {
  /** URL path → file; null when the dashboard was not built (a checkout without `npm run bundle`). */
  files: Map<string, WebAsset> | null;
  /** Where they came from, for the message shown when they are missing. */
  source: string;
}

/**
 * The dashboard's policy: everything from this origin only, no inline script or style, no plugins, no framing.
 * `connect-src 'self'` covers the live feed's ws:/wss: on the same host (CSP level 3).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The player pages' policy (/watch, /embed): the dashboard's, plus blob: media for hls.js's MediaSource. */
export const PLAYER_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "img-src 'self' data:",
  "img-src 'self' data: blob:; media-src 'self' blob:",
);

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** web/ next to the bundled command (dist/m3w.js, or the executable's), or, run from sources, the checkout's dist/web. */
function diskCandidates(): string[] {
  return [fileURLToPath(new URL('web/', import.meta.url)), fileURLToPath(new URL('../../dist/web/', import.meta.url))];
}

function fromDirectory(dir: string): Map<string, WebAsset> {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as WebManifest;
  const files = new Map<string, WebAsset>();
  for (const [urlPath, entry] of Object.entries(manifest.files)) {
    const file = path.join(dir, urlPath);
    files.set(urlPath, {
      ...entry,
      identity: readFileSync(file),
      gzip: readFileSync(`${file}.gz`),
      brotli: readFileSync(`${file}.br`),
    });
  }
  return files;
}

export function loadWebAssets(): WebAssets {
  for (const dir of diskCandidates())
    if (existsSync(path.join(dir, 'manifest.json'))) return { files: fromDirectory(dir), source: dir };
  return { files: null, source: diskCandidates().join(' or ') };
}

/** The encoding to send: brotli, then gzip, when the client accepts it (q > 0); else the file as is. */
export function chooseEncoding(acceptEncoding: string | null): 'br' | 'gzip' | null {
  if (!acceptEncoding) return null;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name) accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return null;
}

function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/**
 * The response for one built file: 304 when the client's copy is current, else the best encoding. `status` 404
 * answers the dashboard's page for an unknown URL (its script draws "Page not found"): never cached, no 304.
 */
export function assetResponse(asset: WebAsset, request: Request, status: 200 | 404 = 200): Response {
  const headers = new Headers(SECURITY_HEADERS);
  headers.set('content-type', asset.type);
  headers.set('vary', 'Accept-Encoding');
  if (status === 404) headers.set('cache-control', 'no-store');
  else {
    headers.set('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    headers.set('etag', asset.etag);
    if (etagMatches(request.headers.get('if-none-match'), asset.etag))
      return new Response(null, { status: 304, headers });
  }
  const encoding = chooseEncoding(request.headers.get('accept-encoding'));
  const body = encoding === 'br' ? asset.brotli : encoding === 'gzip' ? asset.gzip : asset.identity;
  if (encoding) headers.set('content-encoding', encoding);
  headers.set('content-length', String(body.byteLength));
  return new Response(request.method === 'HEAD' ? null : body, { status, headers });
}
