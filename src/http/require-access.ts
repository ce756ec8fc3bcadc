// Who is calling a read route, and which apps they may see. Every read of data goes through here:
// a signed-in user (admin sees every app, member the apps granted) or an API key with `read` scope
// (its own app only). Another app's data answers 404, not 403, so existence does not leak.
import type { H3Event } from 'h3';
import type { ApiKeyRecord } from '../store/index.ts';
import type { HttpContext } from './context.ts';
import { ApiError } from './errors.ts';
import { requireApiKey } from './require-api-key.ts';
import { ACCESS_COOKIE, authenticateUser } from './require-user.ts';

export type Principal =
  | { kind: 'user'; userId: number; email: string; role: 'admin' | 'member'; apps: 'all' | readonly string[] }
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
 * The caller of a WebSocket upgrade: a browser by its session cookie, another client by a one-minute
 * ticket from POST /api/v1/ws-ticket (`?ticket=`). Null when neither is valid.
 */
export async function principalFromUpgrade(ctx: HttpContext, request: Request): Promise<Principal | null> {
  const ticket = new URL(request.url).searchParams.get('ticket');
  const cookie = new RegExp(`(?:^|;\\s*)${ACCESS_COOKIE}=([^;]+)`).exec(request.headers.get('cookie') ?? '')?.[1];
  const signedIn = ticket
    ? await ctx.accounts.authenticateWsTicket(ticket)
    : cookie
      ? await ctx.accounts.authenticate(cookie)
      : null;
  if (!signedIn) return null;
  return {
    kind: 'user',
    userId: signedIn.user.id,
    email: signedIn.user.email,
    role: signedIn.user.role,
    apps: signedIn.apps,
  };
}
