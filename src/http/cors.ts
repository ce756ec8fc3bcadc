// CORS for POST /v1/sessions: browser pages on other sites may send sessions only from the origins their ingest key
// allows. The preflight cannot know the key (browsers send none), so it answers any origin and the real request is
// checked against the presenting key. Requests without an Origin header (SDKs, curl, media servers) are untouched.
import type { ApiKeyRecord } from '../store/index.ts';
import type { HttpContext, RouteDef } from './context.ts';
import type { HttpExchange } from './exchange.ts';
import { ApiError } from './errors.ts';

/** How long a browser may reuse a preflight answer: Chromium caps it at 2 h. */
export const PREFLIGHT_MAX_AGE_SEC = 7200;
const ALLOWED_HEADERS = 'Content-Type, X-API-Key, Authorization, Content-Encoding';

/** OPTIONS /v1/sessions: no key needed, nothing learned about keys; the actual request is the one checked. */
export const sessionsPreflight: RouteDef = {
  method: 'OPTIONS',
  path: '/v1/sessions',
  handler(event) {
    const origin = event.req.headers.get('origin');
    const headers: Record<string, string> = {
      vary: 'Origin',
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SEC),
    };
    if (origin) headers['access-control-allow-origin'] = origin;
    return new Response(null, { status: 204, headers });
  },
  openapi: {
    notInApi:
      'CORS preflight of POST /v1/sessions for browser pages on other origins; the origin is checked on the POST',
  },
};

/**
 * On a request with an Origin header, lets it through only when the key allows that origin (or "*"), and then
 * tells the browser it may read the answer. A refusal is a 403 without Access-Control-Allow-Origin.
 */
export function allowKeyOrigin(event: HttpExchange, key: ApiKeyRecord): void {
  const origin = event.req.headers.get('origin');
  if (origin === null) return; // not a browser on another page: the cost of CORS for SDKs is this one lookup
  const headers = event.res.headers;
  headers.set('vary', 'Origin');
  if (!key.allowedOrigins.includes(origin) && !key.allowedOrigins.includes('*'))
    throw new ApiError(
      'FORBIDDEN',
      `the API key ${key.prefix} is not allowed from the origin ${JSON.stringify(origin.slice(0, 200))}: ` +
        `add it to the key's allowed origins (dashboard Settings → API keys, PATCH /api/v1/apps/${key.appId}/keys/${key.prefix} ` +
        `with {"allowedOrigins":[…]}, or m3w apikey create --origin ${origin.slice(0, 200)})`,
    );
  headers.set('access-control-allow-origin', origin);
}

/**
 * The built-in player's playback credential is for m3w's own /watch and /embed pages (an /embed frame on another
 * site still runs on m3w's origin), so a request carrying it from any other origin is refused.
 */
export function allowOwnOrigin(event: HttpExchange, ctx: HttpContext): void {
  const origin = event.req.headers.get('origin');
  if (origin === null) return;
  event.res.headers.set('vary', 'Origin');
  if (isOwnOrigin(event, ctx, origin)) return;
  throw new ApiError(
    'FORBIDDEN',
    `a playback credential is only accepted from m3w's own player pages, not from the origin ${JSON.stringify(origin.slice(0, 200))}; a page on another site sends sessions with an ingest key that allows its origin`,
  );
}

function isOwnOrigin(event: HttpExchange, ctx: HttpContext, origin: string): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  // The scheme is not compared: a proxy that ends TLS turns https into http on the way in.
  if (host === event.req.headers.get('host')) return true;
  if (ctx.config.trustProxy && host === event.req.headers.get('x-forwarded-host')?.split(',')[0]?.trim()) return true;
  if (ctx.config.publicUrl) {
    try {
      if (host === new URL(ctx.config.publicUrl).host) return true;
    } catch {
      /* a publicUrl that does not parse names no origin */
    }
  }
  return false;
}
