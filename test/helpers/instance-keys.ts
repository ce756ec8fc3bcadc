// The same key files in several data directories, as an operator sets up instances that share one database: the
// keys are made by m3w's own code in the first directory, then copied (0600) into the others.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ALERTS_KEY_FILE, SecretBox } from '../../src/alerts/index.ts';
import { KEY_FILE as AUTH_KEY_FILE, TokenSigner } from '../../src/auth/index.ts';
import { URL_KEY_FILE, UrlSigner } from '../../src/media/index.ts';

export const INSTANCE_KEY_FILES = [AUTH_KEY_FILE, URL_KEY_FILE, ALERTS_KEY_FILE] as const;

/** Creates each data directory (0700) and puts the same auth-ed25519.pem, media-url-key and alerts.key in all. */
export function writeSharedKeys(dataDirs: readonly string[]): void {
  for (const dir of dataDirs) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const [first, ...rest] = dataDirs;
  if (!first) return;
  new TokenSigner(first);
  new UrlSigner(first);
  SecretBox.forDataDir(first);
  for (const dir of rest)
    for (const file of INSTANCE_KEY_FILES) {
      copyFileSync(path.join(first, file), path.join(dir, file));
    }
}
