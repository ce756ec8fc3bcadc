// Fingerprints of keys, for telling whether two processes hold the same key without either showing it: SHA-256 of
// a public key (SPKI DER), or an HMAC-SHA256 of a fixed label under a secret key (a plain hash of a 32-byte random
// key would give nothing away either; the keyed form says so without an argument).
import { createHash, createHmac, type KeyObject } from 'node:crypto';

export function publicKeyFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function secretKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('m3w key fingerprint').digest('hex');
}
