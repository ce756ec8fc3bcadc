// Guest tokens: short-lived signed tokens that let someone without an account act as a `guest` on one
// resource (a watch-party room, a video), under a display name. Rooms and playback ask `guestMay`.
import { createHash } from 'node:crypto';
import { AuthError } from './errors.ts';
import type { GuestClaims, TokenSigner } from './tokens.ts';

export const GUEST_DEFAULT_TTL_SEC = 12 * 3600;
export const GUEST_MAX_TTL_SEC = 7 * 24 * 3600;
export const GUEST_RESOURCE = /^(room|video):[A-Za-z0-9_-]{1,64}$/;
/** What a guest may do on the one resource their token names. */
export const GUEST_ACTIONS = ['view', 'join', 'chat'] as const;
export type GuestAction = (typeof GUEST_ACTIONS)[number];

export interface GuestTokenRequest {
  resource: unknown;
  ttlSeconds?: unknown;
  displayName?: unknown;
}

export async function issueGuestToken(
  signer: TokenSigner,
  req: GuestTokenRequest,
): Promise<{ token: string; expiresAt: number; resource: string; displayName: string }> {
  if (typeof req.resource !== 'string' || !GUEST_RESOURCE.test(req.resource))
    throw new AuthError(
      'INVALID_SCHEMA',
      'resource must be "room:<id>" or "video:<id>" (id: 1 to 64 letters, digits, _ or -)',
    );
  const ttl = req.ttlSeconds ?? GUEST_DEFAULT_TTL_SEC;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 60 || ttl > GUEST_MAX_TTL_SEC)
    throw new AuthError('INVALID_SCHEMA', `ttlSeconds must be an integer from 60 to ${GUEST_MAX_TTL_SEC} (7 days)`);
  const given = req.displayName ?? 'Guest';
  if (typeof given !== 'string' || given.length > 64 || /[\u0000-\u001f\u007f]/.test(given))
    throw new AuthError('INVALID_SCHEMA', 'displayName must be 1 to 64 characters without control characters');
  // Invisible formatting (right-to-left overrides, zero-width spaces) goes: it would let a guest pass for another.
  const name = given.replace(/[\p{Cf}\p{Zl}\p{Zp}]/gu, '').trim();
  if (name.length === 0) throw new AuthError('INVALID_SCHEMA', 'displayName must have a visible character');
  const token = await signer.signGuest(req.resource, name, ttl);
  const claims = await signer.verifyGuest(token);
  return { token, expiresAt: claims!.expiresAt, resource: req.resource, displayName: name };
}

/** The guest behind `token` when it may do `action` on `resource`; null otherwise (expired, forged, other resource). */
export async function guestMay(
  signer: TokenSigner,
  token: string,
  action: GuestAction,
  resource: string,
): Promise<GuestClaims | null> {
  if (!GUEST_ACTIONS.includes(action)) return null;
  const claims = await signer.verifyGuest(token);
  return claims && claims.resource === resource ? claims : null;
}

/**
 * A guest token's id: the first 22 characters of the base64url SHA-256 of the token. Its signed playback URLs
 * carry it (viewer `g.<id>`) and a revocation is stored under it; the token itself is never stored.
 */
export function guestTokenId(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}
