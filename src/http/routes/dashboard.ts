// The dashboard: its pages (every client-side route answers index.html, never cached, so a new version is
// picked up on the next load) and its content-hashed files (cached for a year). One catch-all GET: API routes
// are matched first by the router, and any other path is the usual 404 envelope.
import type { H3Event } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { assetResponse, loadWebAssets, type WebAssets } from '../static-assets.ts';

/** The dashboard's client-side routes (web/src/router.ts): each serves index.html. */
const PAGE =
  /^\/(?:setup|login|welcome|overview|live|breakdowns|sessions(?:\/[^/]+)?|videos(?:\/[^/]+)?|moments|alerts|settings(?:\/[a-z]+)?)?\/?$/;

let loaded: WebAssets | undefined;

/** Read once; retried while missing, so `npm run bundle` next to a running dev server is picked up. */
function webAssets(): WebAssets {
  if (!loaded?.files) loaded = loadWebAssets();
  return loaded;
}

function serveDashboard(event: H3Event): Response {
  const pathname = event.url.pathname;
  const isPage = PAGE.test(pathname);
  const isFile = !isPage && (pathname.startsWith('/assets/') || pathname === '/favicon.svg');
  if (!isPage && !isFile) throw new ApiError('NOT_FOUND', 'no such route');
  const { files, source } = webAssets();
  if (!files) throw new ApiError('NOT_FOUND', `the dashboard is not built (looked in ${source}); run npm run bundle`);
  const asset = files.get(isPage ? '/index.html' : pathname);
  if (!asset) throw new ApiError('NOT_FOUND', `no dashboard file ${pathname}`);
  return assetResponse(asset, event.req);
}

export const dashboardRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/**',
    handler: (event) => serveDashboard(event),
    openapi: { notInApi: 'the dashboard: HTML pages and their static files' },
  },
];
