// The player pages and the browser SDK: /watch/<id> (signed-in viewers, framable by the dashboard only),
// /embed/<id> (guest-token viewers, framable by any site), and /sdk/m3w-web.js (the QoE reporter, loadable by
// any page).
import { getRouterParam, type H3Event } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { assetResponse, loadWebAssets, type WebAsset, type WebAssets } from '../static-assets.ts';

const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

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

function playerPage(event: H3Event): Response {
  const id = getRouterParam(event, 'id', { decode: true }) ?? '';
  if (!VIDEO_ID.test(id)) throw new ApiError('NOT_FOUND', 'no such video');
  // Its CSP (blob: media) and framing (/watch by this origin, /embed by any site) are set with every other
  // response's security headers (security-headers.ts).
  return assetResponse(builtFile('/player.html'), event.req);
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
    handler: (event) => playerPage(event),
    openapi: { notInApi: 'the player page for signed-in viewers' },
  },
  {
    method: 'GET',
    path: '/embed/:id',
    handler: (event) => playerPage(event),
    openapi: { notInApi: 'the player page for guests, to embed in an iframe' },
  },
  {
    method: 'GET',
    path: '/sdk/m3w-web.js',
    handler: (event) => sdkScript(event),
    openapi: { notInApi: 'the browser QoE SDK (a static script)' },
  },
];
