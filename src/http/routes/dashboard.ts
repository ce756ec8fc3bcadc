// The dashboard: its pages (every client-side route answers index.html, never cached, so a new version is
// picked up on the next load) and its content-hashed files (cached for a year). One catch-all GET: API routes
// are matched first by the router. Any other path a browser navigates to (it accepts text/html) gets the
// dashboard with status 404, whose script shows a "Page not found" page with a way back; API clients (and
// anything under /api/ or /v1/) get the usual JSON 404 envelope.
import type { H3Event } from 'h3';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { assetResponse, loadWebAssets, type WebAssets } from '../static-assets.ts';

/** The dashboard's client-side routes (PAGES in web/src/main.ts): each serves index.html. */
const PAGE =
  /^\/(?:setup|login|welcome|connect|overview|live(?:\/[^/]+)?|breakdowns|sessions(?:\/[^/]+)?|videos(?:\/[^/]+)?|moments|alerts|settings(?:\/[a-z]+)?)?\/?$/;

/** Paths that belong to the API whatever the client accepts: a wrong one is always JSON. */
const API_PATH = /^\/(?:api|v1|ws|media)(?:\/|$)/;

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
  const browsing =
    !isPage && !isFile && !API_PATH.test(pathname) && (event.req.headers.get('accept') ?? '').includes('text/html');
  if (!isPage && !isFile && !browsing) throw new ApiError('NOT_FOUND', 'no such route');
  const { files, source } = webAssets();
  if (!files) throw new ApiError('NOT_FOUND', `the dashboard is not built (looked in ${source}); run npm run bundle`);
  const asset = files.get(isFile ? pathname : '/index.html');
  if (!asset) throw new ApiError('NOT_FOUND', `no dashboard file ${pathname}`);
  return assetResponse(asset, event.req, browsing ? 404 : 200);
}

export const dashboardRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/**',
    handler: (event) => serveDashboard(event),
    openapi: { notInApi: 'the dashboard: HTML pages and their static files' },
  },
];
