// Whether the viewer a signed media URL was made for may still play (the login, or the guest token), cached for
// a second per viewer because segments come in bursts; a revocation on this instance forgets its entry at once.
import type { HttpContext } from './context.ts';

/**
 * Whether the viewer a URL was signed for may still play: the login still signed in, or the guest token not
 * revoked (cached briefly: segments come in bursts).
 */
const loginCache = new WeakMap<HttpContext, Map<string, { ok: boolean; at: number }>>();
export async function viewerActive(ctx: HttpContext, viewer: string): Promise<boolean> {
  if (!viewer.startsWith('u.') && !viewer.startsWith('g.')) return false;
  let cache = loginCache.get(ctx);
  if (!cache) loginCache.set(ctx, (cache = new Map()));
  const hit = cache.get(viewer);
  if (hit && Date.now() - hit.at < 1000) return hit.ok;
  let ok: boolean;
  if (viewer.startsWith('g.')) ok = !(await ctx.accounts.guestTokenRevoked(viewer.slice(2)));
  else {
    const session = await ctx.store.accounts.getAuthSession(viewer.slice(2));
    ok = session !== null && session.revokedAt === null && session.expiresAt > Date.now();
    if (ok) {
      const user = await ctx.store.accounts.getUser(session!.userId);
      ok = user !== null && user.disabledAt === null;
    }
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(viewer, { ok, at: Date.now() });
  return ok;
}

/**
 * Forgets what viewerActive remembers of `viewer` (`g.<guestTokenId>` or `u.<session id>`): a revocation on this
 * instance stops its URLs with the next request, not up to a second later (other instances: within a second).
 */
export function forgetViewer(ctx: HttpContext, viewer: string): void {
  loginCache.get(ctx)?.delete(viewer);
}
