// Who is calling a read route, and which apps they may see. Every read of data goes through here:
// a signed-in user (admin sees every app, member the apps granted) or an API key with `read` scope
// (its own app only). Another app's data answers 404, not 403, so existence does not leak.
import type { H3Event } from 'h3';
import { DEFAULT_APP_ID } from '../auth/index.ts';
import type { ApiKeyRecord } from '../store/index.ts';
import type { HttpContext } from './context.ts';
import { ApiError } from './errors.ts';
import { requireApiKey } from './require-api-key.ts';
import { ACCESS_COOKIE, authenticateUser, type Caller } from './require-user.ts';

export type Principal =
  | {
      kind: 'user';
      userId: number;
      email: string;
      role: 'admin' | 'member';
      apps: 'all' | readonly string[];
      /** The login behind it, checked again while a WebSocket stays open. */
      sessionId?: string;
    }
  | { kind: 'key'; key: ApiKeyRecord; apps: readonly string[] };

/** A user (bearer token or session cookie) or an API key with `read` scope; 401 otherwise. */
export async function requireReader(event: H3Event, ctx: HttpContext): Promise<Principal> {
  if (event.req.headers.has('x-api-key')) {
    const key = await requireApiKey(event, ctx, ['read']);
    return { kind: 'key', key, apps: [key.appId] };
  }
  const caller = await authenticateUser(event, ctx);
  if (!caller) throw new ApiError('UNAUTHORIZED', 'sign in, or send an API key with read scope in X-API-Key');
  return { kind: 'user', userId: caller.user.id, email: caller.user.email, role: caller.user.role, apps: caller.apps };
}

export function canSeeApp(principal: Principal, appId: string): boolean {
  return principal.apps === 'all' || principal.apps.includes(appId);
}

/**
 * The app a read is about: `requested` when the caller may see it (else 404), or, when omitted,
 * the one app the caller sees (an API key always has exactly one).
 */
export async function resolveApp(
  ctx: HttpContext,
  principal: Principal,
  requested: string | undefined,
): Promise<string> {
  if (requested !== undefined && requested !== '') {
    if (!canSeeApp(principal, requested) || !(await ctx.store.getApp(requested)))
      throw new ApiError('NOT_FOUND', `no app ${JSON.stringify(requested)}`);
    return requested;
  }
  const visible = principal.apps === 'all' ? (await ctx.store.listApps()).map((a) => a.id) : principal.apps;
  if (visible.length === 1) return visible[0]!;
  throw new ApiError('INVALID_SCHEMA', `app: name the app to read (you can see ${visible.length} apps)`);
}

/**
 * The app a streaming-analytics read is about, for routes that predate apps (`/stats/active`,
 * `/api/v1/streams…`, `/ws/live/{streamId}`): `requested` (?app=) when the caller may see it, else 404; an API
 * key's own app; the one app a user sees; or, for a user who sees several, the default app when among them.
 */
export async function resolveStreamApp(
  ctx: HttpContext,
  principal: Principal,
  requested: string | undefined,
): Promise<string> {
  if (requested !== undefined && requested !== '') return resolveApp(ctx, principal, requested);
  if (principal.kind === 'key') return principal.key.appId;
  if (principal.apps !== 'all' && principal.apps.length === 1) return principal.apps[0]!;
  if (canSeeApp(principal, DEFAULT_APP_ID) && (await ctx.store.getApp(DEFAULT_APP_ID))) return DEFAULT_APP_ID;
  return resolveApp(ctx, principal, undefined);
}

/**
 * The caller of a WebSocket upgrade: a browser by its session cookie, another client by a one-minute
 * ticket from POST /api/v1/ws-ticket (`?ticket=`). Null when neither is valid. A cookie counts only when the
 * page that opens the socket is this server's (Origin): a browser sends the cookie from any site, so another
 * site's page could otherwise read the feed as the signed-in user (cross-site WebSocket hijacking).
 */
export async function principalFromUpgrade(ctx: HttpContext, request: Request): Promise<Principal | null> {
  const ticket = new URL(request.url).searchParams.get('ticket');
  const cookie = new RegExp(`(?:^|;\\s*)${ACCESS_COOKIE}=([^;]+)`).exec(request.headers.get('cookie') ?? '')?.[1];
  const signedIn = ticket
    ? await ctx.accounts.authenticateWsTicket(ticket)
    : cookie && sameOrigin(ctx, request)
      ? await ctx.accounts.authenticate(cookie)
      : null;
  if (!signedIn) return null;
  return {
    kind: 'user',
    userId: signedIn.user.id,
    email: signedIn.user.email,
    role: signedIn.user.role,
    apps: signedIn.apps,
    sessionId: signedIn.sessionId,
  };
}

/** The user principal as it is now: null once the login is revoked or expired or the user disabled or gone. */
export async function refreshUserPrincipal(
  ctx: HttpContext,
  principal: Principal & { kind: 'user' },
): Promise<Principal | null> {
  if (principal.sessionId === undefined) return principal;
  const now = await ctx.accounts.signedInNow(principal.userId, principal.sessionId);
  if (!now) return null;
  return { ...principal, role: now.user.role, apps: now.apps };
}

/**
 * Whether the upgrade comes from a page of this server: no Origin (not a browser), or one whose host is the
 * request's Host or that of the configured publicUrl.
 */
export function sameOrigin(ctx: HttpContext, request: Request): boolean {
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host !== '' && host === request.headers.get('host')) return true;
  const publicUrl = ctx.config.publicUrl;
  return publicUrl !== null && new URL(publicUrl).host === host;
}

/** A signed-in caller as a principal: what the app checks (canSeeApp, resolveApp) take. */
export const callerPrincipal = (c: Caller): Principal => ({
  kind: 'user',
  userId: c.user.id,
  email: c.user.email,
  role: c.user.role,
  apps: c.apps,
});
