// Sessions stored before the QoE rollups existed (an upgrade) are rolled up by the session writer when the
// store next opens, before it takes any request.
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { validateSessionBody } from '../../src/ingest/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { makeTempDir, sdkSession } from '../helpers/server.ts';

test('older sessions get their QoE rollups at the next start, equal to a recomputation', async () => {
  const dir = makeTempDir('m3w-backfill-');
  const file = path.join(dir, 'm3w.db');
  try {
    const base = 1_763_000_000_000;
    let store = await SqliteStore.open({ file, durability: 'normal' });
    await store.ensureApp('default', 'Default app', base);
    const body = Array.from({ length: 300 }, (_, i) =>
      sdkSession({
        sessionId: `b${i}`,
        timestamp: base + i * 17_000,
        startupTimeMs: 100 + i * 7,
        contentId: `c${i % 4}`,
        errorCount: i % 9 === 0 ? 1 : 0,
      }),
    );
    const v = validateSessionBody(body, 1000);
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    await store.upsertSessions('default', v.sessions, base);
    await store.close();

    // As a database from before migration 0003 looks once migrated: sessions, no rollups, the backfill mark.
    const db = new Database(file);
    db.exec(
      "DELETE FROM qoe_minutes; DELETE FROM qoe_hours; INSERT INTO engine_state (key, value) VALUES ('qoe.backfill_next_id', 0)",
    );
    db.close();

    store = await SqliteStore.open({ file, durability: 'normal' });
    try {
      expect(await store.getEngineState('qoe.backfill_next_id')).toBeNull();
      for (const step of [60_000, 3_600_000] as const) {
        const expected = await store.recomputeQoeRows(step, 'default', base - 3_600_000, base + 3 * 3_600_000);
        const stored = [
          ...(await store.qoeRows(step, 'default', 'global', null, base - 3_600_000, base + 3 * 3_600_000)),
          ...(await store.qoeRows(step, 'default', 'contentId', null, base - 3_600_000, base + 3 * 3_600_000)),
        ];
        expect(stored.length).toBe(expected.length);
        const key = (r: { dimension: string; value: string; t: number }) => `${r.dimension}|${r.value}|${r.t}`;
        const byKey = new Map(stored.map((r) => [key(r), r]));
        for (const r of expected) expect(byKey.get(key(r)), key(r)).toEqual(r);
      }
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
