// API-key authentication and rate limiting for the ingestion API, in the order that keeps keys from being
// guessed at speed: requests without a valid key are limited per address, valid ones per key and address
// (a fleet of phones shares one key, so the key alone is not the unit).
import type { ApiKeyRecord, Scope } from '../store/index.ts';
import { clientAddress } from './client-address.ts';
import type { HttpContext } from './context.ts';
import type { HttpExchange } from './exchange.ts';
import { ApiError } from './errors.ts';
import type { RateDecision } from './rate-limit.ts';

function applyRateHeaders(event: HttpExchange, d: RateDecision): void {
  const h = event.res.headers;
  h.set('ratelimit-limit', String(d.limit));
  h.set('ratelimit-remaining', String(d.remaining));
  h.set('ratelimit-reset', String(d.resetSec));
}

/** Takes one request from `bucket`; throws RATE_LIMIT_EXCEEDED (with Retry-After) when it is empty. */
export function limit(
  event: HttpExchange,
  ctx: HttpContext,
  bucket: string,
  requests = ctx.config.rateLimit.requests,
): void {
  const d = ctx.limiter.take(bucket, requests);
  applyRateHeaders(event, d);
  if (!d.allowed)
    throw new ApiError(
      'RATE_LIMIT_EXCEEDED',
      `rate limit of ${requests} requests per ${ctx.config.rateLimit.windowSec} s exceeded; retry in ${d.retryAfterSec} s`,
      undefined,
      { 'retry-after': String(d.retryAfterSec) },
    );
}

export interface RequireApiKeyOptions {
  /**
   * Also accept the key as `?key=` (media servers that can only call a URL). The request log and metrics
   * never see the query string: they record the pathname and the route pattern only.
   */
  allowQueryKey?: boolean;
}

export async function requireApiKey(
  event: HttpExchange,
  ctx: HttpContext,
  scopes: readonly Scope[],
  opts: RequireApiKeyOptions = {},
): Promise<ApiKeyRecord> {
  const address = clientAddress(event, ctx.config.trustProxy);
  const presented =
    event.req.headers.get('x-api-key') ?? (opts.allowQueryKey ? event.url.searchParams.get('key') : null);
  if (!presented) {
    limit(event, ctx, `addr:${address}`);
    throw new ApiError(
      'INVALID_API_KEY',
      opts.allowQueryKey ? 'missing API key: send X-API-Key or ?key=' : 'missing X-API-Key header',
    );
  }
  const key = presented.length <= 512 ? await ctx.keys.authenticate(presented) : null;
  if (!key) {
    limit(event, ctx, `addr:${address}`);
    throw new ApiError(
      'INVALID_API_KEY',
      `unknown or revoked API key in ${event.req.headers.has('x-api-key') ? 'X-API-Key' : '?key='}`,
    );
  }
  limit(event, ctx, `key:${key.id}:${address}`, key.rateLimit ?? undefined);
  if (!scopes.some((s) => key.scopes.includes(s)))
    throw new ApiError('FORBIDDEN', `this API key lacks the ${scopes.join(' or ')} scope`);
  return key;
}
