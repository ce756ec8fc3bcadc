// Signed-in users on HTTP: `Authorization: Bearer <access token>` for API clients, HttpOnly cookies for
// browsers. Cookie-authenticated requests that change state must echo the CSRF cookie in X-CSRF-Token
// (double submit): another site can make the browser send our cookies, but cannot read them.
import { timingSafeEqual } from 'node:crypto';
import { deleteCookie, getCookie, setCookie, type H3Event } from 'h3';
import { ACCESS_TTL_SEC, REFRESH_TTL_MS, type Actor, type LoginResult, type SignedInUser } from '../auth/index.ts';
import type { Role } from '../store/index.ts';
import { clientAddress } from './client-address.ts';
import type { HttpContext } from './context.ts';
import { ApiError } from './errors.ts';
import { limit } from './require-api-key.ts';
import { randomBytes } from 'node:crypto';

export const ACCESS_COOKIE = 'm3w_access';
export const REFRESH_COOKIE = 'm3w_refresh';
export const CSRF_COOKIE = 'm3w_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const REFRESH_PATH = '/api/v1/auth';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Caller extends SignedInUser {
  via: 'bearer' | 'cookie';
}

const cached = new WeakMap<H3Event, Promise<Caller | null>>();

function secure(event: H3Event, ctx: HttpContext): boolean {
  if (event.url.protocol === 'https:') return true;
  return ctx.config.trustProxy && (event.req.headers.get('x-forwarded-proto') ?? '').split(',')[0]!.trim() === 'https';
}

/** Throws unless a cookie-authenticated, state-changing request carries the matching CSRF header. */
export function checkCsrf(event: H3Event): void {
  if (SAFE_METHODS.has(event.req.method)) return;
  const cookie = getCookie(event, CSRF_COOKIE) ?? '';
  const header = event.req.headers.get(CSRF_HEADER) ?? '';
  const ok =
    cookie.length >= 16 && cookie.length === header.length && timingSafeEqual(Buffer.from(cookie), Buffer.from(header));
  if (!ok)
    throw new ApiError(
      'FORBIDDEN',
      `cookie-authenticated requests that change data need the ${CSRF_HEADER} header equal to the ${CSRF_COOKIE} cookie`,
    );
}

async function resolveCaller(event: H3Event, ctx: HttpContext): Promise<Caller | null> {
  const authorization = event.req.headers.get('authorization');
  if (authorization !== null) {
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization.trim());
    if (!m) throw new ApiError('UNAUTHORIZED', 'Authorization must be "Bearer <access token>"');
    const user = await ctx.accounts.authenticate(m[1]!);
    if (!user)
      throw new ApiError('UNAUTHORIZED', 'the access token is invalid or expired; refresh it or sign in again');
    limit(event, ctx, `user:${user.user.id}`);
    return { ...user, via: 'bearer' };
  }
  const token = getCookie(event, ACCESS_COOKIE);
  if (!token) return null;
  const user = await ctx.accounts.authenticate(token);
  if (!user) throw new ApiError('UNAUTHORIZED', 'the session has expired; refresh it or sign in again');
  checkCsrf(event);
  // One budget per user, shared by their tokens and browser sessions, like an API key's.
  limit(event, ctx, `user:${user.user.id}`);
  return { ...user, via: 'cookie' };
}

/** The signed-in caller, or null when the request carries no user credentials at all. */
export function authenticateUser(event: H3Event, ctx: HttpContext): Promise<Caller | null> {
  let p = cached.get(event);
  if (!p) cached.set(event, (p = resolveCaller(event, ctx)));
  return p;
}

export async function requireUser(
  event: H3Event,
  ctx: HttpContext,
  roles: readonly Role[] = ['admin', 'member'],
): Promise<Caller> {
  const caller = await authenticateUser(event, ctx);
  if (!caller)
    throw new ApiError(
      'UNAUTHORIZED',
      'sign in first: send Authorization: Bearer <access token>, or use the dashboard',
    );
  if (!roles.includes(caller.user.role)) throw new ApiError('FORBIDDEN', `this needs the ${roles.join(' or ')} role`);
  return caller;
}

export function actorOf(event: H3Event, ctx: HttpContext, caller: Caller | null): Actor {
  return {
    id: caller?.user.id ?? null,
    email: caller?.user.email ?? null,
    address: clientAddress(event, ctx.config.trustProxy),
  };
}

export function setSessionCookies(event: H3Event, ctx: HttpContext, login: LoginResult): void {
  const base = { httpOnly: true, sameSite: 'strict' as const, secure: secure(event, ctx) };
  setCookie(event, ACCESS_COOKIE, login.accessToken, { ...base, path: '/', maxAge: ACCESS_TTL_SEC });
  setCookie(event, REFRESH_COOKIE, login.refreshToken, { ...base, path: REFRESH_PATH, maxAge: REFRESH_TTL_MS / 1000 });
  // Readable by the dashboard's script, which echoes it in X-CSRF-Token.
  setCookie(event, CSRF_COOKIE, randomBytes(18).toString('base64url'), {
    ...base,
    httpOnly: false,
    path: '/',
    maxAge: REFRESH_TTL_MS / 1000,
  });
}

export function clearSessionCookies(event: H3Event, ctx: HttpContext): void {
  const base = { httpOnly: true, sameSite: 'strict' as const, secure: secure(event, ctx) };
  deleteCookie(event, ACCESS_COOKIE, { ...base, path: '/' });
  deleteCookie(event, REFRESH_COOKIE, { ...base, path: REFRESH_PATH });
  deleteCookie(event, CSRF_COOKIE, { ...base, httpOnly: false, path: '/' });
}

/**
 * Throws 401 naming why when `token` is a guest token of this server that may not be used for `resource`
 * (revoked, or for another room or video): tried as a sign-in it would read "the access token is invalid or
 * expired; refresh it or sign in again", which a guest cannot act on. Returns when it is no guest token at all.
 */
export async function refuseUnusableGuestToken(
  ctx: HttpContext,
  token: string | null,
  resource: string,
): Promise<void> {
  const claims = token ? await ctx.accounts.guestTokenClaims(token) : null;
  if (!claims) return;
  if (claims.resource !== resource)
    throw new ApiError('UNAUTHORIZED', `this guest token is for ${claims.resource}, not ${resource}`);
  throw new ApiError('UNAUTHORIZED', 'this guest token was revoked; ask whoever shared it for a new one');
}
