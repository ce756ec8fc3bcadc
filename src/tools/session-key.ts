// The 53-bit key a stored session is found by: a hash of (app id, session id). An index of these small
// integers is a third the size of one on the two strings, which is what a random sessionId costs the writer
// per insert. Not unique: readers match the hash and then the two strings, so a collision costs one extra
// row read, never a wrong answer. Stored in the database, so this function must never change.

/** FNV-1a (32-bit) and a second, differently seeded multiply-xorshift hash over UTF-16 code units, combined. */
export function sessionKeyHash(appId: string, sessionId: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  // appId, a 0 separator, then sessionId (two loops: no joined string, no closure per call).
  for (let i = 0; i <= appId.length; i++) {
    const c = i < appId.length ? appId.charCodeAt(i) : 0;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = 0; i < sessionId.length; i++) {
    const c = sessionId.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Final avalanche of b (murmur3's fmix32), so nearby ids spread over the whole range.
  b ^= b >>> 16;
  b = Math.imul(b, 0x85ebca6b);
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  // 21 bits of a above 32 bits of b: a safe integer, stored by SQLite in at most 8 bytes.
  return (a >>> 11) * 0x1_0000_0000 + (b >>> 0);
}
