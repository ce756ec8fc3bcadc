// Postgres benchmarks (part of `npm run bench`; alone: node --import tsx test/bench/postgres.ts), in one run
// against the SQLite figures of the same machine:
//   (p1) POST /v1/sessions, one session per request (50 connections) and batches of 100 (16 connections), on an
//        m3w child with SQLite and on one with Postgres (durability full / synchronous_commit on)
//   (p2) the same loads split over two m3w instances on one Postgres schema, against one instance
//   (p3) the 30-day /api/v1/qoe/timeseries queries of (f) on Postgres over BENCH_PG_QOE_SESSIONS sessions (500,000
//        by default; seeding stops after BENCH_PG_SEED_BUDGET_MS, 40 s), seeded directly in SQL (generate_series
//        into the day partitions), their hourly rollups (and the last day's minutes) built in SQL with m3w's
//        arithmetic and spot-checked against m3w's own recomputation; also the rollup read alone, in-process, to
//        tell the database's share from HTTP's. Prints how long seeding 10 M would take at the measured rate.
// Needs TEST_DATABASE_URL; without it the part is skipped with a printed reason (no failure). Bounded: about 90 s
// of load, the seeding budget and the rollup build (under 5 minutes in all here). Schemas are dropped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApiKey } from '../../src/auth/index.ts';
import { openStore, type OpenedStore } from '../../src/store/index.ts';
import { QOE_DIMENSIONS } from '../../src/store/sqlite/qoe-rollup-writer.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';
import { Ledger, runLoad, type LoadFigures } from './load.ts';
import { BodyFactory } from './payloads.ts';
import { liveChildren, startM3w, type ServerChild } from './servers.ts';
import { target } from './targets.ts';

const URL_ = process.env.TEST_DATABASE_URL ?? '';
const QOE_SESSIONS = Number(process.env.BENCH_PG_QOE_SESSIONS ?? 500_000);
/** Seeding stops adding sessions after this long (the part stays under 5 minutes); the count reached is printed. */
const SEED_BUDGET_MS = Number(process.env.BENCH_PG_SEED_BUDGET_MS ?? 40_000);
const WARMUP_SEC = 2;
const DURATION_SEC = 4;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Load {
  label: string;
  sessionsPerBody: number;
  connections: number;
}
const LOADS: Load[] = [
  { label: '1 session/request', sessionsPerBody: 1, connections: 50 },
  { label: '100 sessions/request', sessionsPerBody: 100, connections: 16 },
];

interface Row {
  scenario: string;
  sessionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  stored: string;
}

async function withDb<T>(schema: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: URL_, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs `load` against the instances at once (connections split between them); sums their figures. */
async function drive(children: ServerChild[], apiKey: string, load: Load): Promise<LoadFigures & { acked: number }> {
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'X-API-Key': apiKey };
  const ledgers = children.map(() => new Ledger(load.sessionsPerBody));
  const figures = await Promise.all(
    children.map((child, i) =>
      runLoad(
        {
          url: child.url,
          path: '/v1/sessions',
          headers,
          bodies: new BodyFactory(load.sessionsPerBody),
          connections: Math.ceil(load.connections / children.length),
          warmupSec: WARMUP_SEC,
          durationSec: DURATION_SEC,
          serverPid: child.pid,
        },
        ledgers[i]!,
      ),
    ),
  );
  for (const [i, child] of children.entries()) await ledgers[i]!.resend(`${child.url}/v1/sessions`, headers);
  const sum = (f: (x: LoadFigures) => number) => figures.reduce((n, x) => n + f(x), 0);
  return {
    ...figures[0]!,
    reqPerSec: sum((x) => x.reqPerSec),
    sessionsPerSec: sum((x) => x.sessionsPerSec),
    p50Ms: Math.max(...figures.map((x) => x.p50Ms)),
    p99Ms: Math.max(...figures.map((x) => x.p99Ms)),
    non2xx: sum((x) => x.non2xx),
    errors: sum((x) => x.errors),
    acked: ledgers.reduce((n, l) => n + l.ackedSessions, 0),
  };
}

/** (p1) and (p2): each load on SQLite, on one Postgres instance and on two; every acknowledged session stored. */
async function ingestScenarios(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const load of LOADS) {
    for (const setup of ['sqlite', 'postgres ×1', 'postgres ×2'] as const) {
      const scenario = `${setup === 'sqlite' ? 'SQLite' : setup === 'postgres ×1' ? 'Postgres, 1 instance' : 'Postgres, 2 instances'}, ${load.label}`;
      console.log(`running (p) ${scenario} ...`);
      const dirs = [mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-pg-'))];
      const schema = testSchemaName();
      const apiKey = `bench-${randomBytes(12).toString('hex')}`;
      const env: Record<string, string> = setup === 'sqlite' ? {} : { DATABASE_URL: URL_, M3W_POSTGRES_SCHEMA: schema };
      const children: ServerChild[] = [];
      try {
        // The first instance creates the schema and the key; the second starts on it (one after the other).
        children.push(await startM3w({ dataDir: dirs[0]!, apiKey, env }));
        if (setup === 'postgres ×2') {
          dirs.push(mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-pg-')));
          children.push(await startM3w({ dataDir: dirs[1]!, apiKey, env }));
        }
        const f = await drive(children, apiKey, load);
        for (const c of children) await c.stop();
        let count: number;
        if (setup === 'sqlite') {
          const store = await openStore({
            databasePath: path.join(dirs[0]!, 'm3w.db'),
            durability: 'normal',
            postgresUrl: null,
            postgres: { schema: 'public', poolSize: 1 },
          });
          count = await store.countSessions();
          await store.close();
        } else
          count = await withDb(
            schema,
            async (c) => (await c.query<{ n: string }>('SELECT count(*) AS n FROM sessions')).rows[0]!.n,
          ).then(Number);
        const ok = count === f.acked;
        target(
          `(p) ${scenario}: every acknowledged session stored, no errors`,
          `${fmt(count)}/${fmt(f.acked)}`,
          ok && f.non2xx + f.errors === 0,
        );
        rows.push({
          scenario,
          sessionsPerSec: f.sessionsPerSec,
          p50Ms: f.p50Ms,
          p99Ms: f.p99Ms,
          non2xx: f.non2xx + f.errors,
          stored: `${fmt(count)} of ${fmt(f.acked)} acked`,
        });
        console.log(
          `    ${fmt(f.sessionsPerSec)} sessions/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, non-2xx/errors ${f.non2xx + f.errors}, stored ${fmt(count)} of ${fmt(f.acked)} acknowledged`,
        );
      } finally {
        for (const c of children) if (liveChildren.has(c)) await c.stop();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
        if (setup !== 'sqlite') await dropSchema(schema);
      }
    }
  }
  return rows;
}

const SESSION_SEED_SQL = `INSERT INTO sessions (app_id, session_id, timestamp, session_start_date_iso, session_start_ms,
    session_duration_ms, startup_time_ms, rebuffer_time_ms, play_time_ms, total_dropped_frames, rebuffer_count,
    error_count, rebuffer_ratio, mean_video_format_bitrate, content_id, stream_type, player_name, app_version,
    device_model, os, country, cdn, received_at, payload)
  SELECT 'default', 's' || g, ts, to_char(to_timestamp((ts - 600000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    ts - 600000, 600000, (200 + floor(exp(random() * 8)))::int8,
    CASE WHEN random() < 0.7 THEN 0 ELSE floor(random() * 8000)::int8 END, 590000, floor(random() * 30)::int8, 0,
    CASE WHEN random() < 0.03 THEN 1 ELSE 0 END, 0, floor(1e6 + random() * 6e6)::int8,
    'content-' || floor(random() * 2000), CASE WHEN random() < 0.3 THEN 'live' ELSE 'vod' END, 'media3',
    '3.' || floor(random() * 5) || '.0', 'model-' || floor(random() * 40), 'Android ' || (11 + floor(random() * 4)),
    (ARRAY['US', 'DE', 'FR', 'BR', 'IN', 'JP', 'GB', 'NG'])[1 + floor(random() * 8)::int],
    (ARRAY['cdn-a', 'cdn-b', 'cdn-c'])[1 + floor(random() * 3)::int], ts, '{}'
  FROM (SELECT g, $1::int8 + (g * $2::float8)::int8 AS ts FROM generate_series($3::int8, $5::int8 - 1, $4::int8) g) s`;

/** QoE rollups of the sessions with timestamp in [$1, $2) at `step`, computed as tools/qoe-deltas.ts does. */
function rollupSql(table: 'qoe_hours' | 'qoe_minutes', t: 'hour' | 'minute', step: number): string {
  const dims = [`('global', '')`, ...Object.entries(QOE_DIMENSIONS).map(([d, c]) => `('${d}', ${c})`)].join(', ');
  const figures = [
    ['startup', 'startup_time_ms'],
    ['rebuffer', 'rebuffer_time_ms'],
    ['play', 'play_time_ms'],
    ['dropped', 'total_dropped_frames'],
    ['seeks', 'total_seek_count'],
    ['bitrate', 'mean_video_format_bitrate'],
  ];
  return `INSERT INTO ${table} (app_id, dimension, value, ${t}, sessions, sessions_with_errors,
      ${figures.map(([f]) => `${f}_sum, ${f}_count`).join(', ')}, startup_hist)
    SELECT app_id, dimension, value, t, sum(n), sum(e), ${figures.map(([f]) => `sum(${f}_s), sum(${f}_c)`).join(', ')},
      coalesce(string_to_array(string_agg(b || ',' || n, ',' ORDER BY b) FILTER (WHERE b IS NOT NULL), ',')::int[], '{}')
    FROM (
      SELECT s.app_id, d.dimension, d.value, (s.timestamp / ${step}) * ${step} AS t,
        CASE WHEN s.startup_time_ms IS NULL THEN NULL WHEN s.startup_time_ms >= 1
          THEN least(159, floor(ln(s.startup_time_ms) / ln(1.1))::int + 1) ELSE 0 END AS b,
        count(*) AS n, count(*) FILTER (WHERE s.error_count > 0) AS e,
        ${figures.map(([f, c]) => `coalesce(sum(s.${c}), 0) AS ${f}_s, count(s.${c}) AS ${f}_c`).join(', ')}
      FROM sessions s CROSS JOIN LATERAL (VALUES ${dims}) AS d(dimension, value)
      WHERE s.timestamp >= $1 AND s.timestamp < $2 AND (d.dimension = 'global' OR d.value <> '')
      GROUP BY 1, 2, 3, 4, 5
    ) x GROUP BY app_id, dimension, value, t`;
}

/** (p3) Seeds QOE_SESSIONS sessions over 30 days and their rollups in SQL, then times the queries of (f). */
async function qoeQuery(): Promise<string[]> {
  const lines: string[] = [];
  const schema = testSchemaName();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-pg-qoe-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  let store: OpenedStore | null = null;
  try {
    store = await openStore({
      databasePath: '',
      durability: 'full',
      postgresUrl: URL_,
      postgres: { schema, poolSize: 2 },
    });
    await store.ensureApp('default', 'Default app', Date.now());
    const { key: readKey } = await createApiKey(store, { appId: 'default', name: 'bench reader', scopes: ['read'] });
    const now = Date.now();
    const first = Math.floor(now / HOUR) * HOUR - 30 * DAY;
    console.log(
      `running (p3) 30-day qoe/timeseries on Postgres with ${fmt(QOE_SESSIONS)} sessions (seeding in SQL) ...`,
    );
    const seed = await withDb(schema, async (c) => {
      // The day partitions a month-old deployment has (upkeep made each ahead of its day).
      for (const [table, key, monthly] of [
        ['sessions', 'session_start_ms', false],
        ['qoe_minutes', 'minute', false],
        ['stream_minutes', 'minute', false],
        ['qoe_hours', 'hour', true],
        ['stream_hours', 'hour', true],
      ] as const)
        await c.query('SELECT m3w_add_partitions($1, $2, $3, $4, $5)', [table, key, monthly, first - DAY, now]);
      const began = performance.now();
      const span = (now - first) / QOE_SESSIONS;
      // In chunks spread over the whole 30 days (every chunk-th session), so a seed cut short by the budget
      // still covers every hour.
      const CHUNKS = 10;
      let seeded = 0;
      for (let k = 0; k < CHUNKS && performance.now() - began < SEED_BUDGET_MS; k++) {
        await c.query(SESSION_SEED_SQL, [first, span, k, CHUNKS, QOE_SESSIONS]);
        seeded += Math.ceil((QOE_SESSIONS - k) / CHUNKS);
      }
      const sessionsSec = (performance.now() - began) / 1000;
      const rolled = performance.now();
      await c.query(rollupSql('qoe_hours', 'hour', HOUR), [first, now]);
      console.log(`  hourly rollups built in ${fmt((performance.now() - rolled) / 1000, 1)} s`);
      await c.query(rollupSql('qoe_minutes', 'minute', MIN), [now - DAY, now]);
      const rollupSec = (performance.now() - rolled) / 1000;
      await c.query('ANALYZE');
      const size = await c.query<{ n: string; s: string }>(
        `SELECT (SELECT count(*) FROM qoe_hours) + (SELECT count(*) FROM qoe_minutes) AS n,
                pg_size_pretty(pg_total_relation_size('sessions') + coalesce((SELECT sum(pg_total_relation_size(i.inhrelid))
                  FROM pg_inherits i WHERE i.inhparent = 'sessions'::regclass), 0)) AS s`,
      );
      return { seeded, sessionsSec, rollupSec, rollupRows: Number(size.rows[0]!.n), sessionsSize: size.rows[0]!.s };
    });
    const per10M = (seed.sessionsSec + seed.rollupSec) * (10_000_000 / seed.seeded);
    lines.push(
      `seeded ${fmt(seed.seeded)} sessions in ${fmt(seed.sessionsSec, 1)} s (${fmt(seed.seeded / seed.sessionsSec)}/s, sessions ${seed.sessionsSize} with indexes) and ${fmt(seed.rollupRows)} rollup rows in ${fmt(seed.rollupSec, 1)} s; 10 M at this rate: about ${fmt(per10M / 60, 1)} min`,
    );
    console.log(`  ${lines.at(-1)}`);

    // The SQL-built rollups are m3w's: equal to its recomputation from the raw sessions (three hours).
    let differ = 0;
    for (const h of [37, 361, 700]) {
      const t = first + h * HOUR;
      const stored = await store.qoeRows(HOUR, 'default', 'global', '', t, t + HOUR);
      const recomputed = (await store.recomputeQoeRows(HOUR, 'default', t, t + HOUR)).filter(
        (r) => r.dimension === 'global',
      );
      if (JSON.stringify(stored) === JSON.stringify(recomputed)) continue;
      differ++;
      console.log(
        `    differ at ${new Date(t).toISOString()}:\n      stored ${JSON.stringify(stored)}\n      m3w    ${JSON.stringify(recomputed)}`,
      );
    }
    target(
      '(p3) SQL-seeded rollups equal m3w recomputation (3 hours)',
      differ === 0 ? 'equal' : `${differ} differ`,
      differ === 0,
    );

    // The database's share: the one rollup read each query makes, timed in this process (no HTTP, no JSON).
    for (const value of ['', 'US']) {
      const times: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        const r = await store.qoeRows(HOUR, 'default', value ? 'country' : 'global', value, now - 30 * DAY, now);
        if (r.length < 700) throw new Error(`qoeRows gave ${r.length} rows`);
        if (i >= 20) times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      lines.push(
        `store.qoeRows(hour, ${value ? 'country=US' : 'global'}, 30 days) alone: p50 ${fmt(times[39]!, 1)} ms, p95 ${fmt(times[75]!, 1)} ms`,
      );
      console.log(`  ${lines.at(-1)}`);
    }
    const child = await startM3w({ dataDir: dir, apiKey, env: { DATABASE_URL: URL_, M3W_POSTGRES_SCHEMA: schema } });
    try {
      for (const q of [
        `metric=startup_p95_ms&from=${now - 30 * DAY}&to=${now}`,
        `metric=rebuffer_pct&from=${now - 30 * DAY}&to=${now}`,
        `metric=playback_failure_pct&from=${now - 30 * DAY}&to=${now}&filter[country]=US`,
      ]) {
        const times: number[] = [];
        for (let i = 0; i < 100; i++) {
          const t = performance.now();
          const res = await fetch(`${child.url}/api/v1/qoe/timeseries?${q}`, { headers: { 'x-api-key': readKey } });
          const body = (await res.json()) as { points?: unknown[] };
          if (res.status !== 200 || (body.points?.length ?? 0) < 720)
            throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
          if (i >= 20) times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        const p = (x: number) => times[Math.min(times.length - 1, Math.ceil(x * times.length) - 1)]!;
        const name = `${q.split('&')[0]}${q.includes('filter') ? ' (filtered)' : ''}`;
        lines.push(`${name}: p50 ${fmt(p(0.5), 1)} ms, p95 ${fmt(p(0.95), 1)} ms`);
        console.log(`(p3) GET /api/v1/qoe/timeseries ${lines.at(-1)} (target ≤ 50 ms), 720 hourly points`);
        target(
          `(p3) Postgres 30-day qoe/timeseries ${name} p95 ≤ 50 ms (${fmt(seed.seeded)} sessions)`,
          `${fmt(p(0.95), 1)} ms`,
          p(0.95) <= 50,
        );
      }
    } finally {
      await child.stop();
    }
  } finally {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  }
  return lines;
}

/** Runs (p1)–(p3), or says why not. */
export async function postgresBench(): Promise<void> {
  console.log('\n## Postgres benchmarks\n');
  if (!URL_) {
    console.log(
      'Postgres part skipped: TEST_DATABASE_URL is not set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench).',
    );
    return;
  }
  try {
    await withDb('public', (c) => c.query('SELECT 1'));
  } catch (err) {
    console.log(`Postgres part skipped: cannot connect to TEST_DATABASE_URL (${(err as Error).message}).`);
    return;
  }
  const began = performance.now();
  const only = process.env.BENCH_ONLY;
  const rows = only === 'p3' ? [] : await ingestScenarios();
  const qoe = only === 'p1' ? [] : await qoeQuery();
  console.log(`\nPostgres part took ${fmt((performance.now() - began) / 1000, 0)} s.\n`);
  if (rows.length > 0) {
    console.log('| Scenario (HTTP, durability full) | sessions/s | p50 ms | p99 ms | non-2xx | stored |');
    console.log('|---|---:|---:|---:|---:|---|');
    for (const r of rows)
      console.log(`| ${r.scenario} | ${fmt(r.sessionsPerSec)} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.stored} |`);
  }
  for (const l of qoe) console.log(`- ${l}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await postgresBench();
  const { reportTargets } = await import('./targets.ts');
  reportTargets();
}
