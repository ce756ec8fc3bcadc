// Storage layouts for sessions, measured with raw better-sqlite3 (WAL, synchronous=FULL, 1,000 rows per
// transaction, random ids): today's unique index on (app_id, session_id) against a non-unique index on a
// hash of the two (a lookup, then a plain insert), fresh and after PREFILL rows; PAGE sets the page size.
// CHECKPOINT sets wal_autocheckpoint (pages; SQLite's default 1000), LAYOUTS picks layouts (today,hash).
// Run: PREFILL=500000 PAGE=4096 node --import tsx test/bench/storage-layouts.ts
// Raw better-sqlite3 insert rate of session-shaped rows for storage layouts, fresh and after a prefill.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A 53-bit hash of (app, session id): FNV-1a and a murmur-style hash over UTF-16 code units, combined. */
function sessionKeyHash(appId: string, sessionId: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const text = `${appId}\u0000${sessionId}`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b ^= b >>> 16;
  return (a >>> 11) * 0x1_0000_0000 + (b >>> 0);
}

const PREFILL = Number(process.env.PREFILL ?? 0);
const PAGE = Number(process.env.PAGE ?? 16384);
const CHECKPOINT = Number(process.env.CHECKPOINT ?? 1000);
const LAYOUTS = (process.env.LAYOUTS ?? 'today,hash').split(',');
const payload = JSON.stringify({
  timestamp: Date.now(),
  sessionStartDateIso: new Date().toISOString(),
  sessionDurationMs: 1234567,
  startupTimeMs: 800,
  rebufferTimeMs: null,
  playTimeMs: 1200000,
  totalDroppedFrames: 12,
  totalSeekTimeMs: null,
  rebufferCount: 0,
  totalSeekCount: null,
  errorCount: 0,
  rebufferRatio: 0,
  meanVideoFormatBitrate: 4000000,
  contentId: 'vod-1234',
  streamType: 'vod',
  deviceModel: 'Pixel 8',
  os: 'Android 14',
  country: 'DE',
});
const cols = `app_id TEXT NOT NULL, session_id TEXT NOT NULL, timestamp INTEGER NOT NULL, a TEXT, b INTEGER, c INTEGER, d INTEGER, e INTEGER, f INTEGER, g TEXT, h TEXT, i TEXT, j TEXT, k TEXT, l TEXT, m TEXT, received_at INTEGER, payload TEXT NOT NULL`;
const layouts: Record<string, string> = {
  today: `CREATE TABLE s (id INTEGER PRIMARY KEY, ${cols}, UNIQUE (app_id, session_id)); CREATE INDEX s_t ON s(app_id, timestamp);`,
  hash: `CREATE TABLE s (id INTEGER PRIMARY KEY, key_hash INTEGER NOT NULL, ${cols}); CREATE INDEX s_k ON s(key_hash); CREATE INDEX s_t ON s(app_id, timestamp);`,
};
function run(name: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layout-'));
  const db = new Database(path.join(dir, 'x.db'));
  db.pragma(`page_size = ${PAGE}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -16000');
  db.pragma(`wal_autocheckpoint = ${CHECKPOINT}`);
  db.exec(layouts[name]!);
  const hash = name === 'hash';
  const ins = hash
    ? db.prepare(
        'INSERT INTO s (key_hash, app_id, session_id, timestamp, a, b, c, d, e, f, g, h, i, j, k, l, m, received_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
      )
    : db.prepare(
        'INSERT INTO s (app_id, session_id, timestamp, a, b, c, d, e, f, g, h, i, j, k, l, m, received_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (app_id, session_id) DO NOTHING',
      );
  const find = hash
    ? db.prepare('SELECT id FROM s WHERE key_hash = ? AND app_id = ? AND session_id = ?').pluck()
    : null;
  let n = 0;
  const now = Date.now();
  const tx = db.transaction((count: number) => {
    for (let r = 0; r < count; r++) {
      const sid = `${Math.floor(Math.random() * 2 ** 32).toString(16)}-9f3a-4b1c-8d2e-${(n++).toString(16).padStart(12, '0')}`;
      const vals = [
        'default',
        sid,
        now + n,
        'x',
        1,
        2,
        3,
        4,
        5,
        'vod-1',
        'vod',
        'Pixel',
        'Android',
        '14',
        'DE',
        'cdn',
        now,
        payload,
      ];
      if (hash) {
        const k = sessionKeyHash('default', sid);
        if (find!.get(k, 'default', sid) === undefined) ins.run(k, ...vals);
      } else ins.run(...vals);
    }
  });
  for (let done = 0; done < PREFILL; done += 10000) tx(10000);
  const t0 = performance.now();
  for (let g = 0; g < 60; g++) tx(1000);
  const rate = 60000 / ((performance.now() - t0) / 1000);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return Math.round(rate);
}
for (let i = 0; i < 2; i++)
  for (const l of LAYOUTS)
    console.log(`page ${PAGE} checkpoint ${CHECKPOINT} prefill ${PREFILL} ${l}: ${run(l)} rows/s`);
