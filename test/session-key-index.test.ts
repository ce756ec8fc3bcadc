// Sessions are found by a hash of (app, sessionId) since migration 0007: the migration carries every stored
// row forward with its id and key, and a hash shared by two sessions (a collision) never merges them.
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { validateSessionBody } from '../src/ingest/index.ts';
import { SqliteStore } from '../src/store/index.ts';
import { migrate, readMigrations } from '../src/store/sqlite/migrate.ts';
import { openDatabase } from '../src/store/sqlite/open-database.ts';
import { sessionKeyHash } from '../src/tools/session-key.ts';
import { makeTempDir, sdkSession } from './helpers/server.ts';

function sessions(body: Record<string, unknown>[]) {
  const v = validateSessionBody(body, 1000);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.sessions;
}

test('migration 0007 carries sessions forward with their ids and keys; the store then finds and replaces them', async () => {
  const dir = makeTempDir('m3w-0007-');
  const file = path.join(dir, 'm3w.db');
  try {
    // A database as m3w left it before 0007: the same sessionId in two apps, one with unknown fields.
    const db = openDatabase(file, { durability: 'normal' });
    migrate(
      db,
      readMigrations().filter((m) => m.version < 7),
    );
    db.prepare("INSERT INTO apps (id, name, created_at) VALUES ('a', 'A', 1), ('b', 'B', 1)").run();
    const insert = db.prepare(
      `INSERT INTO sessions (id, app_id, session_id, timestamp, session_start_date_iso, session_start_ms, session_duration_ms,
         content_id, received_at, payload) VALUES (?, ?, ?, ?, '2024-11-19T07:05:40.000Z', 1, 60000, ?, 5, ?)`,
    );
    insert.run(10, 'a', 'same', 1_000, 'c1', '{"sessionId":"same","extra":1}');
    insert.run(20, 'b', 'same', 2_000, 'c2', '{"sessionId":"same"}');
    insert.run(30, 'a', 'other', 3_000, null, '{"sessionId":"other"}');
    const before = db.prepare('SELECT * FROM sessions ORDER BY id').all();
    db.close();

    const store = await SqliteStore.open({ file, durability: 'normal' });
    try {
      expect(store.migrations.applied).toContain('0007_sessions_key_hash.sql');
      const check = new Database(file, { readonly: true });
      const after = check.prepare('SELECT * FROM sessions ORDER BY id').all() as Array<Record<string, unknown>>;
      const indexes = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'")
        .pluck()
        .all();
      check.close();
      // Every row and column as it was, plus the key the writer computes.
      expect(after.map(({ key_hash, ...rest }) => rest)).toEqual(before);
      expect(after.map((r) => r.key_hash)).toEqual(
        after.map((r) => sessionKeyHash(r.app_id as string, r.session_id as string)),
      );
      expect(indexes.sort()).toEqual(['sessions_app_errors', 'sessions_app_time', 'sessions_key']);

      expect((await store.getSession('a', 'same'))?.payload).toBe('{"sessionId":"same","extra":1}');
      expect((await store.getSession('b', 'same'))?.payload).toBe('{"sessionId":"same"}');
      // A newer summary replaces the carried-forward row (still one row per app and sessionId).
      await store.upsertSessions('a', sessions([sdkSession({ sessionId: 'same', timestamp: 5_000 })]), 9);
      expect((await store.getSession('a', 'same'))?.timestamp).toBe(5_000);
      expect((await store.getSession('b', 'same'))?.timestamp).toBe(2_000);
      expect(await store.countSessions()).toBe(3);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two sessions with the same key hash stay two sessions, each found and replaced on its own', async () => {
  const dir = makeTempDir('m3w-collide-');
  const file = path.join(dir, 'm3w.db');
  try {
    let store = await SqliteStore.open({ file, durability: 'normal' });
    await store.ensureApp('default', 'Default', 1);
    await store.upsertSessions('default', sessions([sdkSession({ sessionId: 'first', timestamp: 1_000 })]), 1);
    await store.close();
    // No two real ids are known to collide in 53 bits, so make one: give the stored session the key of another.
    const db = new Database(file);
    db.prepare("UPDATE sessions SET key_hash = ? WHERE session_id = 'first'").run(sessionKeyHash('default', 'second'));
    db.close();

    store = await SqliteStore.open({ file, durability: 'normal' });
    try {
      await store.upsertSessions('default', sessions([sdkSession({ sessionId: 'second', timestamp: 2_000 })]), 2);
      await store.upsertSessions('default', sessions([sdkSession({ sessionId: 'second', timestamp: 3_000 })]), 3);
      expect(await store.countSessions()).toBe(2);
      expect((await store.getSession('default', 'first'))?.timestamp ?? 'not found').toBe('not found');
      expect((await store.getSession('default', 'second'))?.timestamp).toBe(3_000);
      const check = new Database(file, { readonly: true });
      const rows = check.prepare('SELECT session_id, timestamp FROM sessions ORDER BY id').all();
      check.close();
      // 'first' is untouched by the replacements of 'second' that share its key.
      expect(rows).toEqual([
        { session_id: 'first', timestamp: 1_000 },
        { session_id: 'second', timestamp: 3_000 },
      ]);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the key hash is stable: values stored by earlier versions must keep matching', () => {
  // Pinned: a changed function would no longer find sessions already stored.
  expect(sessionKeyHash('default', 'b1c6f7de-5a0e-4c3f-9c4e-0d5a8e1f2a3b')).toBe(5434856065145040);
  expect(sessionKeyHash('', '')).toBe(177620529427235);
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const k = sessionKeyHash('default', `id-${i}`);
    expect(Number.isSafeInteger(k) && k >= 0).toBe(true);
    seen.add(k);
  }
  expect(seen.size).toBe(100_000);
  expect(sessionKeyHash('a', 'bc')).not.toBe(sessionKeyHash('ab', 'c'));
});
