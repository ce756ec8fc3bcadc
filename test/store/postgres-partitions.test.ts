// Partitioning on Postgres (migration 0006): sessions by UTC day of the session start, minute rollups by day,
// hourly rollups by month, each with a DEFAULT partition. Checked here in the catalog, which the Store contract
// cannot see: partitions made ahead and rows moved out of DEFAULT, retention dropping whole partitions, and the
// migration of a populated 0005 schema carrying every row forward.
import { afterEach, describe, expect, test } from 'vitest';
import pg from 'pg';
import { validateSessionBody } from '../../src/ingest/index.ts';
import { openStore, type OpenedStore, type StreamRollupRow } from '../../src/store/index.ts';
import { openPool } from '../../src/store/postgres/database.ts';
import { migratePostgres, readPostgresMigrations } from '../../src/store/postgres/migrate.ts';
import { listPartitions } from '../../src/store/postgres/partitions.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { sdkSession } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7).replace('-', '');

const config = (schema: string) => ({
  databasePath: '/nonexistent/m3w.db',
  durability: 'full' as const,
  postgresUrl: TEST_DATABASE_URL,
  postgres: { schema, poolSize: 2 },
});

function sessions(...items: Array<Record<string, unknown>>) {
  const v = validateSessionBody(
    items.map((o) => sdkSession(o)),
    10_000,
  );
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.sessions;
}
const at = (id: string, start: number, over: Record<string, unknown> = {}) => ({
  sessionId: id,
  sessionStartDateIso: new Date(start).toISOString(),
  timestamp: start + 10 * MIN,
  contentId: `c-${id.length % 3}`,
  country: id.length % 2 ? 'DE' : 'US',
  ...over,
});

/** Runs SQL in `schema` on a connection of its own. */
async function sql<T extends pg.QueryResultRow>(schema: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Which partition holds each session, by session id. */
async function homes(schema: string): Promise<Record<string, string>> {
  const rows = await sql<{ session_id: string; part: string }>(
    schema,
    'SELECT session_id, tableoid::regclass::text AS part FROM sessions',
  );
  return Object.fromEntries(rows.map((r) => [r.session_id, r.part.replace(/^.*\./, '')]));
}

describe.skipIf(!needs('postgres'))('Postgres partitions', () => {
  const schemas: string[] = [];
  const stores: OpenedStore[] = [];
  const open = async (schema?: string) => {
    const name = schema ?? testSchemaName();
    if (!schemas.includes(name)) schemas.push(name);
    const store = await openStore(config(name));
    stores.push(store);
    return { store, schema: name };
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => {});
    for (const s of schemas.splice(0)) await dropSchema(s);
  });

  test('a new schema has partitions ahead; upkeep adds the missing ones and moves their rows out of DEFAULT', async () => {
    const { store, schema } = await open();
    const now = Date.now();
    const names = async (table: string) => (await listPartitionsIn(schema, table)).map((p) => p.name);
    for (const table of ['sessions', 'qoe_minutes', 'stream_minutes'])
      for (let d = 0; d <= 7; d++) expect(await names(table)).toContain(`${table}_d${day(now + d * DAY)}`);
    for (const table of ['qoe_hours', 'stream_hours'])
      for (const t of [now, now + 31 * DAY, now + 62 * DAY])
        expect(await names(table)).toContain(`${table}_m${month(t)}`);
    // Up to date: nothing to create.
    expect(await store.maintainPartitions(now)).toBe(0);

    // Sessions 30 days ahead have no partition yet: DEFAULT holds them until upkeep reaches their day.
    await store.ensureApp('a1', 'A', now);
    const later = Date.UTC(2030, 0, 15, 6);
    await store.upsertSessions('a1', sessions(at('early', later), at('late', later + 2 * DAY)), now);
    expect(await homes(schema)).toEqual({ early: 'sessions_default', late: 'sessions_default' });
    const made = await store.maintainPartitions(later - 3 * DAY);
    // Days later-3d … later+5d of three tables, months of two.
    expect(made).toBeGreaterThanOrEqual(3 * 8);
    expect(await homes(schema)).toEqual({
      early: `sessions_d${day(later)}`,
      late: `sessions_d${day(later + 2 * DAY)}`,
    });
    expect(await store.countSessions('a1')).toBe(2);
    // A past day without a partition (an import, say): its rows wait in DEFAULT until the next upkeep adopts them
    // (the session's day, its QoE minutes' day, the months of its and the old one's QoE hours); a session older
    // than 400 days stays in DEFAULT.
    const past = Math.floor(now / DAY) * DAY - 20 * DAY;
    await store.upsertSessions('a1', sessions(at('past', past + HOUR), at('ancient', past - 500 * DAY)), now);
    expect(await store.maintainPartitions(now)).toBe(4);
    expect(await homes(schema)).toMatchObject({ past: `sessions_d${day(past)}`, ancient: 'sessions_default' });
    expect(await store.maintainPartitions(now)).toBe(0);
    // The QoE rows of those sessions moved with them and still add up.
    const global = await store.qoeRows(HOUR, 'a1', 'global', '', later - DAY, later + 3 * DAY);
    expect(await store.countSessions('a1')).toBe(4);
    expect(global.reduce((n, r) => n + r.sessions, 0)).toBe(2);
    const parts = await sql<{ part: string }>(
      schema,
      'SELECT DISTINCT tableoid::regclass::text AS part FROM qoe_minutes',
    );
    expect(parts.map((p) => p.part.replace(/^.*\./, ''))).toEqual(
      expect.arrayContaining([`qoe_minutes_d${day(later)}`, `qoe_minutes_d${day(later + 2 * DAY)}`]),
    );
  });

  test('retention detaches and drops expired partitions whole and deletes the rest row by row', async () => {
    const { store, schema } = await open();
    const T = Date.UTC(2025, 5, 10);
    await store.ensureApp('a1', 'A', T);
    await store.maintainPartitions(T - 4 * DAY);
    const items = [];
    for (let d = -10; d <= 1; d++) items.push(at(`s${d}a`, T + d * DAY + HOUR), at(`s${d}b`, T + d * DAY + 20 * HOUR));
    await store.upsertSessions('a1', sessions(...items), T);
    const row = (t: number): StreamRollupRow => ({
      appId: 'a1',
      dimension: 'global',
      value: '',
      t,
      sessionsStarted: 1,
      sessionsClosed: 0,
      totalBytes: 1,
      watchTimeSeconds: 1,
      uniqueUsers: 1,
      peakConcurrent: 1,
    });
    for (let d = -6; d <= 0; d++)
      await store.replaceStreamRollups(MIN, T + d * DAY, T + d * DAY + MIN, [row(T + d * DAY)]);
    const before = (await listPartitionsIn(schema, 'sessions')).map((p) => p.name);
    expect(before).toContain(`sessions_d${day(T - 4 * DAY)}`);
    expect(before).toContain(`sessions_d${day(T - 2 * DAY)}`);

    // Cut-off at noon of day -2: days -4 and -3 go whole; day -2 partly; days -10 … -5 sit in DEFAULT.
    const cutoffs = { raw: T - 2 * DAY + 12 * HOUR, minuteRollups: T - 2 * DAY + 12 * HOUR, hourlyRollups: 0 };
    const counted = await store.countExpired(cutoffs);
    expect(counted.sessions).toBe(6 * 2 + 2 * 2 + 1);
    const first = await store.deleteExpired(cutoffs, 1);
    // The first call drops the whole partitions (2 days × 2 sessions) and deletes one row more.
    expect(first.sessions).toBe(2 * 2 + 1);
    const total = { ...first };
    for (;;) {
      const d = await store.deleteExpired(cutoffs, 1);
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += d[k];
      if (Object.values(d).every((n) => n === 0)) break;
    }
    expect(total).toEqual(counted);
    const after = (await listPartitionsIn(schema, 'sessions')).map((p) => p.name);
    expect(after).not.toContain(`sessions_d${day(T - 4 * DAY)}`);
    expect(after).not.toContain(`sessions_d${day(T - 3 * DAY)}`);
    expect(after).toContain(`sessions_d${day(T - 2 * DAY)}`);
    const minuteParts = (await listPartitionsIn(schema, 'stream_minutes')).map((p) => p.name);
    expect(minuteParts).not.toContain(`stream_minutes_d${day(T - 3 * DAY)}`);
    expect(minuteParts).toContain(`stream_minutes_d${day(T - 2 * DAY)}`);
    // Detached tables do not linger.
    const left = await sql<{ n: number }>(
      schema,
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
      [schema, [`sessions_d${day(T - 4 * DAY)}`, `qoe_minutes_d${day(T - 4 * DAY)}`]],
    );
    expect(left[0]!.n).toBe(0);
    expect(Object.keys(await homes(schema)).sort()).toEqual(
      ['s-2b', 's-1a', 's-1b', 's0a', 's0b', 's1a', 's1b'].sort(),
    );
  });

  test('migrating a populated 0005 schema carries every row forward into partitions', async () => {
    // The rows come from a store of the current schema (real ingestion), copied into a schema at 0005.
    const { store: source, schema: from } = await open();
    const now = Date.now();
    const today = Math.floor(now / DAY) * DAY;
    await source.ensureApp('a1', 'A', now);
    await source.ensureApp('a2', 'B', now);
    const items = [];
    for (let d = -3; d <= 0; d++)
      for (let i = 0; i < 5; i++)
        items.push(at(`r${d}-${i}`, today + d * DAY + i * HOUR, { errorCount: i === 2 ? 1 : 0 }));
    items.push(at('ancient', Date.UTC(2019, 2, 1, 12)));
    await source.upsertSessions('a1', sessions(...items), now);
    await source.upsertSessions('a2', sessions(at('other', today - DAY)), now);
    await source.replaceStreamRollups(MIN, today - DAY, today - DAY + MIN, [
      {
        appId: 'a1',
        dimension: 'global',
        value: '',
        t: today - DAY,
        sessionsStarted: 2,
        sessionsClosed: 1,
        totalBytes: 10,
        watchTimeSeconds: 5,
        uniqueUsers: 2,
        peakConcurrent: 2,
      },
    ]);

    const target = testSchemaName();
    schemas.push(target);
    const pool = await openPool({ url: TEST_DATABASE_URL, schema: target, poolSize: 1 });
    try {
      const report = await migratePostgres(pool, target, readPostgresMigrations().slice(0, 5));
      expect(report.applied.at(-1)).toBe('0005_job_runs.sql');
      for (const table of ['apps', 'sessions', 'qoe_minutes', 'qoe_hours', 'stream_minutes', 'stream_hours'])
        await pool.query(`INSERT INTO "${target}".${table} SELECT * FROM "${from}".${table}`);
      // As 0005 left it: one plain table, unique on (app_id, session_id).
      const kind = await pool.query<{ k: string }>(
        `SELECT relkind::text AS k FROM pg_class WHERE oid = 'sessions'::regclass`,
      );
      expect(kind.rows[0]!.k).toBe('r');
    } finally {
      await pool.end();
    }
    const { store: moved } = await open(target);
    // 0006 and every later migration, applied in order on top of the populated 0005 schema.
    expect(moved.migrations.applied).toEqual(
      readPostgresMigrations()
        .slice(5)
        .map((m) => m.name),
    );
    expect(moved.migrations.applied[0]).toBe('0006_partitions.sql');

    // Same answers as the source for everything stored.
    for (const app of ['a1', 'a2']) {
      expect(await moved.countSessions(app)).toBe(await source.countSessions(app));
      const page = { appId: app, limit: 100 };
      expect(await moved.listSessions(page)).toEqual(await source.listSessions(page));
      for (const step of [MIN, HOUR] as const)
        for (const dim of ['global', 'contentId', 'country'])
          expect(await moved.qoeRows(step, app, dim, null, 0, now + DAY)).toEqual(
            await source.qoeRows(step, app, dim, null, 0, now + DAY),
          );
    }
    expect(await moved.getSession('a1', 'ancient')).toEqual(await source.getSession('a1', 'ancient'));
    expect(await moved.streamSeries(MIN, 'a1', 'global', '', 0, now)).toEqual(
      await source.streamSeries(MIN, 'a1', 'global', '', 0, now),
    );
    // Rows in the partitions of their days; the 2019 one (past 400 days) in DEFAULT.
    const where = await homes(target);
    expect(where.ancient).toBe('sessions_default');
    for (let d = -3; d <= 0; d++) expect(where[`r${d}-0`]).toBe(`sessions_d${day(today + d * DAY)}`);
    expect((await listPartitionsIn(target, 'qoe_hours')).map((p) => p.name)).toContain(`qoe_hours_m${month(now)}`);

    // It keeps working: new ids follow the copied ones, a re-send replaces (also across days), retention runs.
    const maxId = Math.max(...(await moved.listSessions({ appId: 'a1', limit: 100 })).sessions.map((s) => s.id));
    await moved.upsertSessions('a1', sessions(at('fresh', today + HOUR)), now);
    await moved.upsertSessions('a1', sessions(at('r-1-0', today - 3 * DAY, { timestamp: now })), now);
    const fresh = (await moved.listSessions({ appId: 'a1', limit: 100, sessionIdPrefix: 'fresh' })).sessions[0]!;
    expect(fresh.id).toBeGreaterThan(maxId);
    expect(await moved.countSessions('a1')).toBe(items.length + 1);
    expect((await homes(target))['r-1-0']).toBe(`sessions_d${day(today - 3 * DAY)}`);
    const raw = today - 2 * DAY;
    const counted = await moved.countExpired({ raw, minuteRollups: 0, hourlyRollups: 0 });
    expect(counted.sessions).toBe(5 + 1); // day -3 and the ancient one; r-1-0 is newer now
    await moved.deleteExpired({ raw, minuteRollups: 0, hourlyRollups: 0 }, 100);
    expect(await moved.countSessions('a1')).toBe(items.length + 1 - 6);
  });
});

function listPartitionsIn(schema: string, table: string) {
  return withClient(schema, (c) => listPartitions(c, table));
}

async function withClient<T>(schema: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
