// Signed tokens: access tokens (15 min), guest tokens and WebSocket tickets, all EdDSA (Ed25519) JWTs
// signed with a key generated on first start and kept in the data directory. Each kind has its own
// audience, and verification pins the algorithm and audience, so `alg: none`, a token of another kind
// or one signed with another key is refused.
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { publicKeyFingerprint } from '../tools/key-fingerprint.ts';

export const ACCESS_TTL_SEC = 15 * 60;
export const WS_TICKET_TTL_SEC = 60;
const ISSUER = 'm3w';
const ALGORITHMS = ['EdDSA'];
export const KEY_FILE = 'auth-ed25519.pem';

type Audience = 'm3w:access' | 'm3w:guest' | 'm3w:ws';

export interface AccessClaims {
  userId: number;
  role: string;
  /** The login (refresh-token family) this token belongs to. */
  sessionId: string;
}

export interface GuestClaims {
  resource: string;
  name: string;
  expiresAt: number;
}

function loadOrCreateKey(file: string): KeyObject {
  if (existsSync(file)) return createPrivateKey(readFileSync(file, 'utf8'));
  const { privateKey } = generateKeyPairSync('ed25519');
  // wx: never overwrite a key another process wrote a moment ago; 0600: only m3w's user may read it.
  try {
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return createPrivateKey(readFileSync(file, 'utf8'));
  }
  return privateKey;
}

/**
 * Whether each part of a compact JWT is canonical base64url. The decoder ignores the spare bits of a part's last
 * character, so one signed token has several spellings that all verify; a revoked guest token is known by the
 * hash of its text (guestTokenId), so another spelling of it would get past the revocation. Only the spelling
 * we issued is accepted.
 */
function canonicalJwt(token: string): boolean {
  const parts = token.split('.');
  return (
    parts.length === 3 &&
    parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p)
  );
}

/** The user and login a verified access token or ticket speaks for. */
function loginClaims(p: JWTPayload | null): AccessClaims | null {
  if (!p || typeof p.sid !== 'string' || typeof p.role !== 'string' || !/^\d+$/.test(p.sub ?? '')) return null;
  return { userId: Number(p.sub), role: p.role, sessionId: p.sid };
}

export class TokenSigner {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  /** Tells whether another instance signs with the same key (SHA-256 of the public key). */
  readonly fingerprint: string;

  constructor(dataDir: string) {
    this.privateKey = loadOrCreateKey(path.join(dataDir, KEY_FILE));
    this.publicKey = createPublicKey(this.privateKey);
    this.fingerprint = publicKeyFingerprint(this.publicKey);
  }

  private sign(audience: Audience, subject: string, ttlSec: number, claims: JWTPayload): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ttlSec}s`)
      .sign(this.privateKey);
  }

  private async verify(token: string, audience: Audience): Promise<JWTPayload | null> {
    if (token.length > 4096 || !canonicalJwt(token)) return null;
    try {
      // jose checks exp only when present: a token without it would never expire, so both are required.
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ALGORITHMS,
        issuer: ISSUER,
        audience,
        requiredClaims: ['exp', 'iat'],
      });
      return payload;
    } catch {
      return null; // expired, tampered, wrong key, wrong kind: all simply not valid
    }
  }

  signAccess(c: AccessClaims): Promise<string> {
    return this.sign('m3w:access', String(c.userId), ACCESS_TTL_SEC, { role: c.role, sid: c.sessionId });
  }

  async verifyAccess(token: string): Promise<AccessClaims | null> {
    return loginClaims(await this.verify(token, 'm3w:access'));
  }

  signGuest(resource: string, name: string, ttlSec: number): Promise<string> {
    return this.sign('m3w:guest', resource, ttlSec, { name });
  }

  async verifyGuest(token: string): Promise<GuestClaims | null> {
    const p = await this.verify(token, 'm3w:guest');
    if (!p || typeof p.sub !== 'string' || typeof p.name !== 'string' || typeof p.exp !== 'number') return null;
    return { resource: p.sub, name: p.name, expiresAt: p.exp * 1000 };
  }

  /** A one-minute ticket that lets a non-browser client open the live WebSocket as this login. */
  signWsTicket(c: AccessClaims): Promise<string> {
    return this.sign('m3w:ws', String(c.userId), WS_TICKET_TTL_SEC, { role: c.role, sid: c.sessionId });
  }

  /** The ticket's login, with its id and expiry so that the caller can make it single use. */
  async verifyWsTicket(token: string): Promise<(AccessClaims & { ticketId: string; expiresAt: number }) | null> {
    const p = await this.verify(token, 'm3w:ws');
    const claims = loginClaims(p);
    if (!claims || typeof p?.jti !== 'string' || typeof p.exp !== 'number') return null;
    return { ...claims, ticketId: p.jti, expiresAt: p.exp * 1000 };
  }
}
