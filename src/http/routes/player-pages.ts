// The player pages and the browser SDK: /watch/<id> (signed-in viewers, framable by the dashboard only),
// /embed/<id> (guest-token viewers, framable by any site), and /sdk/m3w-web.js (the QoE reporter, loadable by
// any page). The pages get their own CSP: the dashboard's, plus blob: media for hls.js's MediaSource.
import { getRouterParam, type H3Event } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { assetResponse, loadWebAssets, type WebAsset, type WebAssets } from '../static-assets.ts';

const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The player's policy: same-origin everything, MediaSource blobs for the video, framing as the page allows. */
export function playerContentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

let loaded: WebAssets | undefined;

/** Read once; retried while missing, like the dashboard's files. */
function builtFile(urlPath: string): WebAsset {
  if (!loaded?.files) loaded = loadWebAssets();
  const { files, source } = loaded;
  if (!files) throw new ApiError('NOT_FOUND', `the web pages are not built (looked in ${source}); run npm run bundle`);
  const asset = files.get(urlPath);
  if (!asset) throw new ApiError('NOT_FOUND', `no built file ${urlPath}; run npm run bundle`);
  return asset;
}

function playerPage(event: H3Event, embed: boolean): Response {
  const id = getRouterParam(event, 'id', { decode: true }) ?? '';
  if (!VIDEO_ID.test(id)) throw new ApiError('NOT_FOUND', 'no such video');
  const res = assetResponse(builtFile('/player.html'), event.req);
  res.headers.set('content-security-policy', playerContentSecurityPolicy(embed ? '*' : "'self'"));
  // /embed lives in other sites' iframes; the guest token in its URL is the access control.
  if (embed) res.headers.delete('x-frame-options');
  else res.headers.set('x-frame-options', 'SAMEORIGIN');
  // A page that plays video needs nothing from window.opener either way; keep the dashboard's isolation.
  return res;
}

function sdkScript(event: H3Event): Response {
  const res = assetResponse(builtFile('/sdk/m3w-web.js'), event.req);
  // Other sites load it with <script src>: readable cross-origin, and revalidated (its URL never changes).
  res.headers.set('access-control-allow-origin', '*');
  res.headers.set('cross-origin-resource-policy', 'cross-origin');
  res.headers.set('cache-control', 'public, max-age=300, must-revalidate');
  return res;
}

export const playerPageRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/watch/:id',
    handler: (event) => playerPage(event, false),
    openapi: { notInApi: 'the player page for signed-in viewers' },
  },
  {
    method: 'GET',
    path: '/embed/:id',
    handler: (event) => playerPage(event, true),
    openapi: { notInApi: 'the player page for guests, to embed in an iframe' },
  },
  {
    method: 'GET',
    path: '/sdk/m3w-web.js',
    handler: (event) => sdkScript(event),
    openapi: { notInApi: 'the browser QoE SDK (a static script)' },
  },
];
