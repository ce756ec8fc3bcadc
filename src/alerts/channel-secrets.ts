// Notification channel settings hold secrets (webhook URLs with tokens, SMTP passwords, HMAC keys), so they are
// sealed with AES-256-GCM under a key kept in the data directory (alerts.key, 0600) before they reach the
// store: a copy of the database alone does not give them away.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { secretKeyFingerprint } from '../tools/key-fingerprint.ts';

export const KEY_FILE = 'alerts.key';
const VERSION = 'v1';

export class SecretBox {
  /** Tells whether another instance seals with the same key, without showing it. */
  readonly fingerprint: string;

  private constructor(private readonly key: Buffer) {
    this.fingerprint = secretKeyFingerprint(key);
  }

  /** The data directory's key, created (random, 0600) on first use. */
  static forDataDir(dataDir: string): SecretBox {
    const file = path.join(dataDir, KEY_FILE);
    if (!existsSync(file)) {
      try {
        writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        // Another start made it first: use theirs.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file}: expected a 32-byte key in base64`);
    return new SecretBox(key);
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open<T>(sealed: string): T {
    const [version, data] = sealed.split(':');
    if (version !== VERSION || !data) throw new Error('sealed channel settings: unknown format');
    const raw = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as T;
  }
}
