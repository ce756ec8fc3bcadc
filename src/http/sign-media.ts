// Signed media URLs for a viewer: every playlist and segment path signed with an expiry and the viewer's id,
// so revoking the viewer (a login, a guest token) or deleting the video stops them at once.
import type { SignPath } from '../media/index.ts';
import type { HttpContext } from './context.ts';
import type { Caller } from './require-user.ts';

/** Signs media paths for `viewer` (a login or a guest token) until `expiresAt`. */
export function signerFor(ctx: HttpContext, viewer: string, expiresAt: number): SignPath {
  return (pathname) => ctx.media.signer.sign(pathname, expiresAt, viewer);
}

/** Signs media paths for a signed-in caller: their login is the viewer the URLs die with. */
export function userSigner(ctx: HttpContext, caller: Caller): SignPath {
  return signerFor(ctx, `u.${caller.sessionId}`, Date.now() + ctx.config.playbackUrlTtlSeconds * 1000);
}
