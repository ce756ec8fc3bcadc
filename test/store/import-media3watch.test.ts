// m3w import media3watch: a real table of the Kotlin Media3Watch backend (its Flyway V2 schema, filled with that
// backend's own upsert, whose WHERE kept the older summary of a re-sent session) is imported through m3w's
// ingestion into SQLite and into Postgres: the counts, the stored sessions, the rollups and the summary are
// checked, and a second run changes nothing.
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateSessionSummary } from '../../src/ingest/index.ts';
import { openStore, type StoreConfig } from '../../src/store/index.ts';
import { runCliAsync } from '../helpers/child.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { makeTempDir } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';

// The Kotlin backend's sessions table as its V2 migration creates it.
const KOTLIN_V2 = (schema: string) => `CREATE TABLE "${schema}".sessions (
  id BIGSERIAL PRIMARY KEY,
  session_id VARCHAR(128) NOT NULL UNIQUE,
  timestamp BIGINT NOT NULL,
  session_start_date_iso VARCHAR(64) NOT NULL,
  session_duration_ms BIGINT NOT NULL,
  startup_time_ms BIGINT,
  rebuffer_time_ms BIGINT,
  rebuffer_count INTEGER,
  play_time_ms BIGINT,
  rebuffer_ratio REAL,
  total_dropped_frames BIGINT,
  total_seek_count INTEGER,
  total_seek_time_ms BIGINT,
  mean_video_format_bitrate INTEGER,
  error_count INTEGER,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`;

// Its upsert, with the WHERE the issue describes: a stored row is replaced only by an older or equal one.
const KOTLIN_UPSERT = (
  schema: string,
) => `INSERT INTO "${schema}".sessions (session_id, timestamp, session_start_date_iso,
  session_duration_ms, startup_time_ms, rebuffer_time_ms, rebuffer_count, play_time_ms, rebuffer_ratio,
  total_dropped_frames, total_seek_count, total_seek_time_ms, mean_video_format_bitrate, error_count, created_at)
  SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int[], $8::int8[],
    $9::real[], $10::int8[], $11::int[], $12::int8[], $13::int[], $14::int[]), LATERAL (SELECT now()) n
  ON CONFLICT (session_id) DO UPDATE SET timestamp = EXCLUDED.timestamp,
    session_start_date_iso = EXCLUDED.session_start_date_iso, session_duration_ms = EXCLUDED.session_duration_ms,
    startup_time_ms = EXCLUDED.startup_time_ms, error_count = EXCLUDED.error_count
  WHERE sessions.timestamp >= EXCLUDED.timestamp`;

const T0 = 1_732_000_000_000;
const ROWS = 2_500;

interface KotlinRow {
  sessionId: string;
  timestamp: number;
  startup: number | null;
  errors: number;
  duration?: number;
  iso?: string;
}

const kotlinRow = (i: number, over: Partial<KotlinRow> = {}): KotlinRow => ({
  sessionId: `kt-${i}`,
  timestamp: T0 + i * 1000,
  startup: i % 10 === 0 ? null : 200 + (i % 700),
  errors: i % 9 === 0 ? 1 : 0,
  ...over,
});

async function upsertKotlin(client: pg.Client, schema: string, rows: KotlinRow[]): Promise<void> {
  const col = <T>(f: (r: KotlinRow) => T) => rows.map(f);
  await client.query(KOTLIN_UPSERT(schema), [
    col((r) => r.sessionId),
    col((r) => r.timestamp),
    col((r) => r.iso ?? new Date(r.timestamp - 60_000).toISOString()),
    col((r) => r.duration ?? 60_000),
    col((r) => r.startup),
    col(() => 1200),
    col(() => 2),
    col(() => 58_000),
    col(() => 0.02),
    col(() => 5),
    col(() => 1),
    col(() => 300),
    col(() => 2_500_000),
    col((r) => r.errors),
  ]);
}

describe.skipIf(!needs('postgres'))('m3w import media3watch', () => {
  const kotlin = testSchemaName();
  const targetSchema = testSchemaName();
  const dirs: string[] = [];
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA "${kotlin}"`);
    await client.query(KOTLIN_V2(kotlin));
    for (let b = 0; b < ROWS; b += 500)
      await upsertKotlin(
        client,
        kotlin,
        Array.from({ length: 500 }, (_, i) => kotlinRow(b + i)),
      );
    // kt-7 re-sent newer (kept older by the Kotlin WHERE), then older (taken): the table holds the oldest.
    await upsertKotlin(client, kotlin, [kotlinRow(7, { timestamp: T0 + 7000 + 50_000, startup: 9999 })]);
    await upsertKotlin(client, kotlin, [kotlinRow(7, { timestamp: T0 + 7000 - 50_000, startup: 111 })]);
    // Rows m3w's validation refuses: a zero duration and a date that is not one.
    await upsertKotlin(client, kotlin, [kotlinRow(900_001, { duration: 0 }), kotlinRow(900_002, { iso: 'yesterday' })]);
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${kotlin}" CASCADE`);
    await client.end();
    await dropSchema(targetSchema);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cases: Array<{ name: string; config: () => StoreConfig; env: () => Record<string, string> }> = [
    {
      name: 'SQLite',
      config: () => ({
        databasePath: path.join(dirs[0]!, 'm3w.db'),
        durability: 'full',
        postgresUrl: null,
        postgres: { schema: 'public', poolSize: 2 },
      }),
      env: () => ({ M3W_DATA_DIR: dirs[0]! }),
    },
    {
      name: 'Postgres',
      config: () => ({
        databasePath: '/nonexistent/m3w.db',
        durability: 'full',
        postgresUrl: TEST_DATABASE_URL,
        postgres: { schema: targetSchema, poolSize: 2 },
      }),
      env: () => ({ M3W_DATA_DIR: dirs[1]!, DATABASE_URL: TEST_DATABASE_URL, M3W_POSTGRES_SCHEMA: targetSchema }),
    },
  ];

  test.each(cases)(
    'into $name: every valid row lands once, the newer of two copies wins, a re-run changes nothing',
    async (c) => {
      dirs.push(makeTempDir('m3w-import-'));
      const dir = dirs.at(-1)!;
      // What m3w already holds for the app: kt-5 newer than the Kotlin row (stays), kt-6 older (is replaced).
      let store = await openStore(c.config());
      await store.ensureApp('legacy', 'legacy', Date.now());
      const pre = [
        { sessionId: 'kt-5', timestamp: T0 + 5000 + 10_000, startupTimeMs: 4242 },
        { sessionId: 'kt-6', timestamp: T0 + 6000 - 10_000, startupTimeMs: 4343 },
      ].map((s) => {
        const r = validateSessionSummary({
          ...s,
          sessionStartDateIso: new Date(T0).toISOString(),
          sessionDurationMs: 1,
        });
        if (!r.ok) throw new Error(JSON.stringify(r.issues));
        return r.session;
      });
      await store.upsertSessions('legacy', pre, Date.now());
      await store.close();

      const args = ['import', 'media3watch', '--from', TEST_DATABASE_URL, '--from-schema', kotlin, '--app', 'legacy'];
      const first = await runCliAsync(args, { cwd: dir, env: c.env() });
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/Importing 2,502 Media3Watch sessions into app "legacy"/);
      expect(first.stdout).toMatch(
        /Read 2,502 rows in [\d.]+ s \([\d,]+ rows\/s\): 2,498 new sessions, 2 already in m3w/,
      );
      expect(first.stdout).toMatch(/2 refused by validation/);
      expect(first.stdout).toMatch(
        /refused: id \d+ \(session "kt-900001"\): sessionDurationMs: expected an integer greater than 0/,
      );
      expect(first.stdout).toMatch(/refused: id \d+ \(session "kt-900002"\): sessionStartDateIso/);
      expect(first.stdout).toContain('WHERE sessions.timestamp >= EXCLUDED.timestamp');
      expect(first.stdout).toMatch(/kept the older summary/);

      store = await openStore(c.config());
      try {
        expect(await store.countSessions('legacy')).toBe(ROWS);
        const stored = async (id: string) => JSON.parse((await store.getSession('legacy', id))!.payload);
        // The Kotlin table's kt-7 is its oldest copy; that is what there was to import.
        expect(await stored('kt-7')).toMatchObject({ timestamp: T0 + 7000 - 50_000, startupTimeMs: 111 });
        expect(await stored('kt-5')).toMatchObject({ timestamp: T0 + 15_000, startupTimeMs: 4242 });
        expect(await stored('kt-6')).toMatchObject({ timestamp: T0 + 6000, startupTimeMs: 206 });
        expect(await stored('kt-10')).toEqual({
          sessionId: 'kt-10',
          timestamp: T0 + 10_000,
          sessionStartDateIso: new Date(T0 + 10_000 - 60_000).toISOString(),
          sessionDurationMs: 60_000,
          startupTimeMs: null,
          rebufferTimeMs: 1200,
          playTimeMs: 58_000,
          totalDroppedFrames: 5,
          totalSeekTimeMs: 300,
          rebufferCount: 2,
          totalSeekCount: 1,
          errorCount: 0,
          rebufferRatio: 0.02,
          meanVideoFormatBitrate: 2_500_000,
        });
      } finally {
        await store.close();
      }
      const rollups = async () => {
        const s = await openStore(c.config());
        try {
          return await s.qoeRows(60_000, 'legacy', 'global', '', T0 - 86_400_000, T0 + 86_400_000);
        } finally {
          await s.close();
        }
      };
      const before = await rollups();
      expect(before.reduce((n, r) => n + r.sessions, 0)).toBe(ROWS);

      const again = await runCliAsync(args, { cwd: dir, env: c.env() });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/Read 2,502 rows .*: 0 new sessions, 2,500 already in m3w/);
      store = await openStore(c.config());
      try {
        expect(await store.countSessions('legacy')).toBe(ROWS);
      } finally {
        await store.close();
      }
      expect(await rollups()).toEqual(before);
    },
  );

  test("a table that is not the Kotlin backend's, and a bad command line, are refused with a message", async () => {
    const dir = makeTempDir('m3w-import-bad-');
    dirs.push(dir);
    const wrong = testSchemaName();
    await client.query(`CREATE SCHEMA "${wrong}"; CREATE TABLE "${wrong}".sessions (id serial primary key, name text)`);
    try {
      const r = await runCliAsync(
        ['import', 'media3watch', '--from', TEST_DATABASE_URL, '--from-schema', wrong, '--app', 'x'],
        { cwd: dir, env: { M3W_DATA_DIR: dir } },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/sessions is not the Media3Watch backend's table \(no column session_id, timestamp/);
      const none = await runCliAsync(
        ['import', 'media3watch', '--from', TEST_DATABASE_URL, '--app', 'x', '--from-schema', 'm3w_nothing_here'],
        {
          cwd: dir,
          env: { M3W_DATA_DIR: dir },
        },
      );
      expect(none.stderr).toMatch(/has no sessions table/);
      const m3wSchema = testSchemaName();
      await (
        await openStore({
          databasePath: '/nonexistent/m3w.db',
          durability: 'full',
          postgresUrl: TEST_DATABASE_URL,
          postgres: { schema: m3wSchema, poolSize: 1 },
        })
      ).close();
      const m3wTable = await runCliAsync(
        ['import', 'media3watch', '--from', TEST_DATABASE_URL, '--from-schema', m3wSchema, '--app', 'x'],
        { cwd: dir, env: { M3W_DATA_DIR: dir } },
      );
      await dropSchema(m3wSchema);
      expect(m3wTable.stderr).toMatch(/sessions is an m3w table, not the Media3Watch backend's/);
      const noApp = await runCliAsync(['import', 'media3watch', '--from', TEST_DATABASE_URL], { cwd: dir });
      expect(noApp.status).toBe(2);
      expect(noApp.stderr).toMatch(/needs --app ID/);
    } finally {
      await client.query(`DROP SCHEMA "${wrong}" CASCADE`);
    }
  });
});
