// Signed playback URLs: HMAC-SHA256 over the path, the expiry and the viewer's token id, with a key generated
// once in the data directory (0600). The same key signs the short-lived playback credential the player uses to
// report its QoE session, so nothing secret is ever put in a page.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { secretKeyFingerprint } from '../tools/key-fingerprint.ts';

export const URL_KEY_FILE = 'media-url-key';
const VIEWER = /^[A-Za-z0-9._-]{1,80}$/;

function loadOrCreateKey(dataDir: string): Buffer {
  const file = path.join(dataDir, URL_KEY_FILE);
  try {
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
}

export type UrlCheck =
  | { ok: true; viewer: string; expiresAt: number }
  | { ok: false; reason: 'missing' | 'expired' | 'bad-signature' };

export interface PlaybackCredential {
  appId: string;
  videoId: string;
  expiresAt: number;
}

export class UrlSigner {
  private readonly key: Buffer;
  /** Tells whether another instance signs with the same key, without showing it. */
  readonly fingerprint: string;

  constructor(dataDir: string) {
    this.key = loadOrCreateKey(dataDir);
    this.fingerprint = secretKeyFingerprint(this.key);
  }

  private mac(kind: string, ...parts: string[]): string {
    return createHmac('sha256', this.key)
      .update(`${kind}\n${parts.join('\n')}`)
      .digest('base64url');
  }

  /** `pathname?e=<expiry ms>&v=<viewer>&s=<signature>` */
  sign(pathname: string, expiresAt: number, viewer: string): string {
    if (!VIEWER.test(viewer)) throw new Error('viewer id must be URL-safe');
    const e = String(expiresAt);
    return `${pathname}?e=${e}&v=${viewer}&s=${this.mac('url', pathname, e, viewer)}`;
  }

  verify(pathname: string, query: URLSearchParams, now = Date.now()): UrlCheck {
    const e = query.get('e');
    const v = query.get('v');
    const s = query.get('s');
    if (!e || !v || !s || !/^\d{1,15}$/.test(e) || !VIEWER.test(v) || s.length > 64)
      return { ok: false, reason: 'missing' };
    const expected = Buffer.from(this.mac('url', pathname, e, v));
    const given = Buffer.from(s);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return { ok: false, reason: 'bad-signature' };
    if (Number(e) <= now) return { ok: false, reason: 'expired' };
    return { ok: true, viewer: v, expiresAt: Number(e) };
  }

  /** A token that lets a player report QoE sessions of one video into its app until `expiresAt`. */
  issueCredential(c: PlaybackCredential): string {
    const body = Buffer.from(JSON.stringify({ a: c.appId, v: c.videoId, e: c.expiresAt })).toString('base64url');
    return `m3wp.${body}.${this.mac('qoe', body)}`;
  }

  verifyCredential(token: string, now = Date.now()): PlaybackCredential | null {
    const m = /^m3wp\.([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const expected = Buffer.from(this.mac('qoe', m[1]!));
    if (!timingSafeEqual(expected, Buffer.from(m[2]!))) return null;
    try {
      const p = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { a: unknown; v: unknown; e: unknown };
      if (typeof p.a !== 'string' || typeof p.v !== 'string' || typeof p.e !== 'number' || p.e <= now) return null;
      return { appId: p.a, videoId: p.v, expiresAt: p.e };
    } catch {
      return null;
    }
  }
}
