// m3w grafana export: the provisioning files parse (with an independent YAML reader) and name the right data
// source types; on Postgres every panel's SQL, with Grafana's macros filled in for a fixed range, runs against a
// real schema filled through the server's ingestion and answers what the read API and a brute force over the
// sent sessions answer; on SQLite every Infinity panel calls a real read API route with the read key and gets
// the fields its columns select.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/index.ts';
import { runCli } from './helpers/child.ts';
import { expandGrafanaSql, expandGrafanaVariables, type GrafanaRange } from './helpers/grafana-macros.ts';
import { prng } from './helpers/prng.ts';
import { needs, TEST_DATABASE_URL } from './helpers/requirements.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';
import { dropSchema, testSchemaName } from './helpers/stores.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
type Session = Record<string, unknown>;
type Json = Record<string, any>; // parsed files: the test checks their shape field by field

/** A YAML file read by PyYAML (safe_load), handed back as JSON. */
function readYaml(file: string): Json {
  const r = spawnSync(
    'python3',
    ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)', file],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`PyYAML could not read ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Json;
}

const num = (w: Session, f: string) => (typeof w[f] === 'number' ? (w[f] as number) : null);
const nearestRank = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
};
const sumOf = (xs: Session[], f: string) => xs.reduce((a, w) => a + (num(w, f) ?? 0), 0);

/** Sessions of [from, to) as the panels count them, from the sessions this test sent. */
function bruteForce(sessions: Session[]) {
  const startups = sessions.map((w) => num(w, 'startupTimeMs')).filter((v): v is number => v !== null);
  const bitrates = sessions.map((w) => num(w, 'meanVideoFormatBitrate')).filter((v): v is number => v !== null);
  const rebuffer = sumOf(sessions, 'rebufferTimeMs');
  const play = sumOf(sessions, 'playTimeMs');
  return {
    sessions: sessions.length,
    failurePct: (100 * sessions.filter((w) => (num(w, 'errorCount') ?? 0) > 0).length) / sessions.length,
    rebufferPct: (100 * rebuffer) / (rebuffer + play),
    rebufferSeconds: rebuffer / 1000,
    startupMean: startups.reduce((a, b) => a + b, 0) / startups.length,
    startupP95: nearestRank(startups, 0.95),
    bitrateMean: bitrates.reduce((a, b) => a + b, 0) / bitrates.length,
  };
}

/** Random sessions over seven hours from `base`, some figures missing, as an SDK sends them. */
function makeSessions(prefix: string, base: number, n: number, seed: number): Session[] {
  const rand = prng(seed);
  const maybe = <T>(v: T) => (rand() < 0.15 ? null : v);
  return Array.from({ length: n }, (_, i) =>
    sdkSession({
      sessionId: `${prefix}-${i}`,
      timestamp: base + Math.floor(rand() * 7 * HOUR),
      startupTimeMs: maybe(Math.floor(Math.exp(rand() * 9))),
      rebufferTimeMs: maybe(Math.floor(rand() * 5_000)),
      playTimeMs: maybe(Math.floor(rand() * 600_000)),
      errorCount: maybe(rand() < 0.1 ? 1 : 0),
      meanVideoFormatBitrate: maybe(Math.floor(1e6 + rand() * 5e6)),
      country: maybe(rand() < 0.5 ? 'DE' : 'US'),
    }),
  );
}

async function ingest(s: TestServer, key: string, sessions: Session[]): Promise<void> {
  for (let i = 0; i < sessions.length; i += 200)
    expect((await postSessions(s.url, sessions.slice(i, i + 200), { key })).status).toBe(200);
}

const panelsOf = (dashboard: Json) => dashboard.panels as Json[];
const statPanels = (dashboard: Json) => panelsOf(dashboard).filter((p) => p.type === 'stat');
const seriesPanels = (dashboard: Json) => panelsOf(dashboard).filter((p) => p.type === 'timeseries');

function checkProvider(dir: string, dashboard: Json, keyInFile: boolean): void {
  const provider = readYaml(path.join(dir, 'dashboards', 'm3w.yaml'));
  expect(provider.apiVersion).toBe(1);
  expect(provider.providers).toEqual([
    expect.objectContaining({
      type: 'file',
      options: expect.objectContaining({ path: '/etc/grafana/provisioning/dashboards' }),
    }),
  ]);
  expect(dashboard.uid).toBe('m3w-qoe');
  expect(dashboard.time).toEqual({ from: 'now-24h', to: 'now' });
  // Grafana runs as its own user: only a file holding a key is private.
  expect(statSync(path.join(dir, 'datasources/m3w.yaml')).mode & 0o777).toBe(keyInFile ? 0o600 : 0o644);
  for (const f of ['dashboards/m3w.yaml', 'dashboards/m3w.json'])
    expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o644);
}

describe.skipIf(!needs('postgres', 'pyyaml'))('m3w grafana export on Postgres', () => {
  const schema = testSchemaName();
  const out = makeTempDir('m3w-grafana-pg-');
  let s: TestServer;
  let readKey: string;
  let db: pg.Client;
  let dashboard: Json;
  // Whole hours in the past, so the rows are settled; the ranges asked for have ragged minute edges.
  const base = Math.floor(Date.now() / HOUR) * HOUR - 8 * HOUR;
  const sent = makeSessions('gf', base, 900, 12);

  beforeAll(async () => {
    s = await startTestServer(
      {
        databaseUrl: TEST_DATABASE_URL,
        postgres: { schema, poolSize: 4 },
        rateLimit: { requests: 1_000_000, windowSec: 60 },
      },
      undefined,
      { analyticsSchedules: false },
    );
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
    await ingest(s, s.apiKey, sent);
    // Another app's sessions in the same minutes: the dashboard's app variable keeps them out.
    await s.server.store.ensureApp('other', 'other', Date.now());
    const otherKey = (await createApiKey(s.server.store, { appId: 'other', name: 'o', scopes: ['ingest'] })).key;
    await ingest(s, otherKey, makeSessions('other', base, 150, 99));
    const r = runCli(['grafana', 'export', '--out', out], {
      cwd: out,
      env: { DATABASE_URL: TEST_DATABASE_URL, M3W_POSTGRES_SCHEMA: schema },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/M3W_GRAFANA_DB_PASSWORD/);
    expect(r.stdout).toContain(`GRANT SELECT ON "${schema}".apps, "${schema}".qoe_minutes, "${schema}".qoe_hours`);
    dashboard = JSON.parse(readFileSync(path.join(out, 'dashboards', 'm3w.json'), 'utf8')) as Json;
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await s?.close();
    await dropSchema(schema);
    rmSync(out, { recursive: true, force: true });
  });

  /** Runs a panel's SQL as Grafana would for the range (app: default), with nothing set on the connection. */
  async function run(sql: string, range: GrafanaRange): Promise<Json[]> {
    const r = await db.query(expandGrafanaSql(sql, { ...range, vars: { app: 'default', ...range.vars } }));
    return r.rows as Json[];
  }
  const sqlOf = (panel: Json) => {
    expect(panel.targets).toHaveLength(1);
    expect(panel.datasource).toEqual({ type: 'grafana-postgresql-datasource', uid: 'm3w-postgres' });
    return panel.targets[0].rawSql as string;
  };
  const api = async (route: string) => {
    const res = await fetch(`${s.url}${route}`, { headers: { 'x-api-key': readKey } });
    expect(res.status, route).toBe(200);
    return (await res.json()) as Json;
  };
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

  test('the data source is Grafana PostgreSQL on the configured database, with no password in the file', () => {
    const ds = readYaml(path.join(out, 'datasources', 'm3w.yaml'));
    const u = new URL(TEST_DATABASE_URL);
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toHaveLength(1);
    const d = ds.datasources[0];
    expect(d).toMatchObject({
      type: 'grafana-postgresql-datasource',
      uid: 'm3w-postgres',
      url: `${u.hostname}:${u.port || '5432'}`,
      user: decodeURIComponent(u.username),
      jsonData: { database: u.pathname.slice(1), sslmode: 'disable' },
      secureJsonData: { password: `\${M3W_GRAFANA_DB_PASSWORD}` },
    });
    checkProvider(out, dashboard, false);
    const app = dashboard.templating.list.find((v: Json) => v.name === 'app');
    expect(app.datasource.uid).toBe('m3w-postgres');
  });

  test('the app variable lists every app', async () => {
    const app = dashboard.templating.list.find((v: Json) => v.name === 'app');
    const rows = await run(app.query, { from: base, to: base + HOUR, intervalMs: MIN });
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(['default', 'other']));
  });

  // Ragged edges around whole hours (hourly rows inside, minute rows at the ends), and a span inside one hour
  // (minute rows only).
  const ranges = [
    { name: 'across hours', from: base + 13 * MIN, to: base + 6 * HOUR + 47 * MIN },
    { name: 'inside one hour', from: base + 2 * HOUR + 5 * MIN, to: base + 2 * HOUR + 41 * MIN },
  ];

  test.each(ranges)('every stat panel ($name) equals the read API summary and a brute force', async ({ from, to }) => {
    const stats = statPanels(dashboard);
    expect(stats.map((p) => p.title)).toEqual([
      'Sessions',
      'Startup (mean)',
      'Startup (p95)',
      'Playback failures',
      'Rebuffering (share of watch time)',
      'Time rebuffering',
      'Bitrate (mean per session)',
    ]);
    const summary = (await api(`/api/v1/qoe/summary?from=${from}&to=${to}`)).current as Json;
    const truth = bruteForce(sent.filter((w) => (w.timestamp as number) >= from && (w.timestamp as number) < to));
    expect(truth.sessions).toBeGreaterThan(40);
    const value = async (title: string) => {
      const rows = await run(sqlOf(stats.find((p) => p.title === title)!), { from, to, intervalMs: MIN });
      expect(rows).toHaveLength(1);
      return n(Object.values(rows[0]!)[0]);
    };
    expect(summary).toMatchObject({ from, to });
    expect(await value('Sessions')).toBe(summary.sessions);
    expect(await value('Sessions')).toBe(truth.sessions);
    const failure = (await value('Playback failures'))!;
    expect(failure).toBeCloseTo(summary.playback_failure_pct, 3);
    expect(failure).toBeCloseTo(truth.failurePct, 6);
    const rebuffer = (await value('Rebuffering (share of watch time)'))!;
    expect(rebuffer).toBeCloseTo(summary.rebuffer_pct, 3);
    expect(rebuffer).toBeCloseTo(truth.rebufferPct, 6);
    expect(await value('Time rebuffering')).toBeCloseTo(truth.rebufferSeconds, 6);
    const mean = (await value('Startup (mean)'))!;
    expect(Math.abs(mean - summary.startup_mean_ms)).toBeLessThanOrEqual(0.05 + 1e-9);
    expect(mean).toBeCloseTo(truth.startupMean, 6);
    // p95 from the merged histograms: the API's figure, and within the histogram's 5 % of the exact one.
    const p95 = (await value('Startup (p95)'))!;
    expect(Math.abs(p95 - summary.startup_p95_ms)).toBeLessThanOrEqual(0.05 + 1e-9);
    expect(Math.abs(p95 - truth.startupP95) / truth.startupP95).toBeLessThanOrEqual(0.05);
    // The per-session mean the rollups hold (the summary weights by play time from raw sessions instead).
    expect(await value('Bitrate (mean per session)')).toBeCloseTo(truth.bitrateMean, 4);
  });

  const SERIES_METRIC: Record<string, string> = {
    Sessions: 'sessions',
    'Startup (mean)': 'startup_mean_ms',
    'Startup (p95)': 'startup_p95_ms',
    'Playback failures': 'playback_failure_pct',
    Rebuffering: 'rebuffer_pct',
    'Bitrate (mean)': 'bitrate_mean_bps',
  };
  const tolerance: Record<string, number> = {
    sessions: 0,
    startup_mean_ms: 0.05,
    startup_p95_ms: 0.05,
    playback_failure_pct: 0.0001,
    rebuffer_pct: 0.0001,
    bitrate_mean_bps: 0.5,
  };

  test.each([
    { interval: MIN, step: 60 },
    { interval: HOUR, step: 3600 },
  ])(
    'every time series panel at $step s spacing equals /api/v1/qoe/timeseries point by point',
    async ({ interval, step }) => {
      const { from, to } = ranges[0]!;
      const series = seriesPanels(dashboard);
      expect(series.map((p) => p.title)).toEqual([
        'Sessions over time',
        'Startup time',
        'Playback failures and rebuffering',
        'Bitrate (mean per session)',
      ]);
      let compared = 0;
      for (const panel of series) {
        expect(panel.targets[0].format).toBe('time_series');
        const rows = await run(sqlOf(panel), { from, to, intervalMs: interval });
        expect(rows.length, panel.title).toBeGreaterThan(0);
        for (const [column, metric] of Object.entries(SERIES_METRIC)) {
          if (!(column in rows[0]!)) continue;
          const points = (await api(`/api/v1/qoe/timeseries?from=${from}&to=${to}&step=${step}&metric=${metric}`))
            .points as Array<{ t: number; value: number | null }>;
          const sessions = (await api(`/api/v1/qoe/timeseries?from=${from}&to=${to}&step=${step}&metric=sessions`))
            .points as Array<{ t: number; value: number }>;
          // Grafana gets a row per bucket with sessions; the API also lists empty buckets (0 sessions).
          const expected = points.filter((_, i) => sessions[i]!.value > 0);
          expect(
            rows.map((r) => (r.time as Date).getTime()),
            `${panel.title}: ${column}`,
          ).toEqual(expected.map((p) => p.t));
          for (const [i, p] of expected.entries()) {
            const got = n(rows[i]![column]);
            if (p.value === null) expect(got, `${column} at ${p.t}`).toBeNull();
            else expect(Math.abs(got! - p.value), `${column} at ${p.t}`).toBeLessThanOrEqual(tolerance[metric]! + 1e-9);
            compared++;
          }
        }
      }
      expect(compared).toBeGreaterThan(step === 60 ? 300 : 20);
    },
  );

  test('at a 5-minute spacing each point adds up the minutes inside it', async () => {
    const { from, to } = ranges[0]!;
    const panel = seriesPanels(dashboard).find((p) => p.title === 'Sessions over time')!;
    const rows = await run(sqlOf(panel), { from, to, intervalMs: 5 * MIN });
    const minutes = (await api(`/api/v1/qoe/timeseries?from=${from}&to=${to}&step=60&metric=sessions`))
      .points as Array<{
      t: number;
      value: number;
    }>;
    const byFive = new Map<number, number>();
    for (const p of minutes)
      if (p.value > 0)
        byFive.set(
          Math.floor(p.t / (5 * MIN)) * 5 * MIN,
          (byFive.get(Math.floor(p.t / (5 * MIN)) * 5 * MIN) ?? 0) + p.value,
        );
    expect(new Map(rows.map((r) => [(r.time as Date).getTime(), Number(r.Sessions)]))).toEqual(byFive);
  });
});

describe.skipIf(!needs('pyyaml'))('m3w grafana export on SQLite (Infinity over the read API)', () => {
  const out = makeTempDir('m3w-grafana-api-');
  let s: TestServer;
  let readKey: string;
  let dashboard: Json;
  let ds: Json;
  const base = Math.floor(Date.now() / HOUR) * HOUR - 8 * HOUR;
  const sent = makeSessions('api', base, 300, 7);
  const m3w = (...args: string[]) =>
    runCli(['grafana', 'export', '--database-url', s.config.databasePath, ...args], { cwd: out });

  beforeAll(async () => {
    // SQLite whatever TEST_STORE says: this is the Infinity path.
    s = await startTestServer({ databaseUrl: null, rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'grafana', scopes: ['read'] })).key;
    await ingest(s, s.apiKey, sent);
    const r = m3w('--out', out, '--key', readKey, '--url', s.url);
    expect(r.status, r.stderr).toBe(0);
    dashboard = JSON.parse(readFileSync(path.join(out, 'dashboards', 'm3w.json'), 'utf8')) as Json;
    ds = readYaml(path.join(out, 'datasources', 'm3w.yaml')).datasources[0] as Json;
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    rmSync(out, { recursive: true, force: true });
  });

  test('the data source is Infinity on the server, sending the read key in X-API-Key', () => {
    expect(ds).toMatchObject({
      type: 'yesoreyeram-infinity-datasource',
      uid: 'm3w-api',
      url: s.url,
      jsonData: { allowedHosts: [s.url], httpHeaderName1: 'X-API-Key' },
      secureJsonData: { httpHeaderValue1: readKey },
    });
    checkProvider(out, dashboard, true);
  });

  test('every panel calls a real read API route with the key and gets the fields its columns select', async () => {
    const range = { from: base, to: base + 7 * HOUR, intervalMs: MIN };
    let targets = 0;
    for (const panel of panelsOf(dashboard)) {
      expect(panel.datasource).toEqual({ type: 'yesoreyeram-infinity-datasource', uid: 'm3w-api' });
      for (const t of panel.targets as Json[]) {
        expect(t).toMatchObject({ type: 'json', source: 'url', url_options: { method: 'GET' } });
        const url = new URL(`${ds.url}${t.url}`);
        for (const p of t.url_options.params as Array<{ key: string; value: string }>)
          url.searchParams.set(p.key, expandGrafanaVariables(p.value, range));
        expect(url.toString()).not.toMatch(/\$/);
        const res = await fetch(url, {
          headers: { [ds.jsonData.httpHeaderName1]: ds.secureJsonData.httpHeaderValue1 },
        });
        expect(res.status, url.toString()).toBe(200);
        const body = (await res.json()) as Json;
        const selected = body[t.root_selector];
        const items: Json[] = Array.isArray(selected) ? selected : [selected];
        expect(items.length, url.toString()).toBeGreaterThan(0);
        for (const item of items)
          for (const c of t.columns as Array<{ selector: string; type: string }>) {
            expect(item, `${panel.title}: ${c.selector}`).toHaveProperty(c.selector);
            const v = item[c.selector];
            if (v !== null) expect(typeof v, `${panel.title}: ${c.selector}`).toBe('number');
          }
        if (panel.title === 'Sessions') expect(selected.sessions).toBe(sent.length);
        if (panel.title === 'Sessions over time')
          expect(items.reduce((a, p) => a + (p.value as number), 0)).toBe(sent.length);
        targets++;
      }
    }
    expect(targets).toBe(6 + 6);
  });

  test('without --key the file names an environment variable; a key without read scope is refused', () => {
    const other = makeTempDir('m3w-grafana-nokey-');
    try {
      const r = m3w('--out', other, '--url', s.url);
      expect(r.status, r.stderr).toBe(0);
      expect(readYaml(path.join(other, 'datasources', 'm3w.yaml')).datasources[0].secureJsonData).toEqual({
        httpHeaderValue1: `\${M3W_GRAFANA_READ_KEY}`,
      });
      expect(statSync(path.join(other, 'datasources', 'm3w.yaml')).mode & 0o777).toBe(0o644);
      // Written again with the key, the file that was readable by all is private before the key goes in.
      expect(m3w('--out', other, '--key', readKey).status).toBe(0);
      expect(statSync(path.join(other, 'datasources', 'm3w.yaml')).mode & 0o777).toBe(0o600);
      const ingestOnly = m3w('--out', other, '--key', s.apiKey);
      expect(ingestOnly.status).toBe(2);
      expect(ingestOnly.stderr).toMatch(/--key: m3w_[0-9a-f]+ has scopes ingest; the dashboard needs read/);
      const unknown = m3w('--out', other, '--key', 'm3w_00000000_nope');
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toMatch(/--key: no active API key matches/);
      expect(m3w().stderr).toMatch(/grafana export needs --out DIR/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
