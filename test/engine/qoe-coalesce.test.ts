// QoE rollups written across group commits (the SQLite writer keeps each group's deltas in memory for a few
// hundred milliseconds and writes them with a later group): still exact after `kill -9` of a real m3w process
// in the middle of single-session and batch ingestion with replacements (the restart recomputes the buckets
// marked in qoe_dirty), every rollup row compared with a brute force over the sessions table; a read right
// after a 200 sees the session; the file itself gets the rollups within a second with no read; an app deleted
// while its deltas are pending does not get rows back.
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { validateSessionBody } from '../../src/ingest/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { spawnServer, type ServerProcess } from '../helpers/child.ts';
import { prng } from '../helpers/prng.ts';
import {
  makeTempDir,
  postSessions,
  sdkSession,
  startTestServer,
  TEST_STORE,
  type TestServer,
} from '../helpers/server.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const API_KEY = 'qoe-coalesce-crash-key-0123456789'; // 32+ visible ASCII characters
const ENV = { M3W_API_KEY: API_KEY, RATE_LIMIT_REQUESTS: '1000000000' };
const WORKERS = 24;
const KILL_AFTER_MS = [1100, 1500];

/** Session columns → the SessionSummary dimension each rollup dimension is named after. */
const DIMENSIONS: Array<[string, string]> = [
  ['contentId', 'content_id'],
  ['streamType', 'stream_type'],
  ['appVersion', 'app_version'],
  ['deviceModel', 'device_model'],
  ['os', 'os'],
  ['country', 'country'],
  ['cdn', 'cdn'],
  ['playerName', 'player_name'],
];
const FIGURES: Array<[string, string]> = [
  ['startup_time_ms', 'startup'],
  ['rebuffer_time_ms', 'rebuffer'],
  ['play_time_ms', 'play'],
  ['total_dropped_frames', 'dropped'],
  ['total_seek_count', 'seeks'],
  ['mean_video_format_bitrate', 'bitrate'],
];

/** Bucket 0: below 1 ms; bucket i ≥ 1: [1.1^(i-1), 1.1^i) ms (written here, not imported). */
const bucketOf = (ms: number) => {
  if (!(ms >= 1)) return 0;
  let b = 1;
  while (b < 159 && 1.1 ** b <= ms) b++;
  return b;
};

/**
 * Every rollup row of one step computed from the sessions table with nothing of m3w's code, as
 * `app|dimension|value|t` → figures (histogram as sorted "bucket:count" pairs).
 */
function bruteForce(db: Database.Database, step: number): Map<string, string> {
  const rows = db
    .prepare(
      `SELECT app_id, timestamp, error_count, ${FIGURES.map(([c]) => c).join(', ')}, ${DIMENSIONS.map(([, c]) => c).join(', ')} FROM sessions`,
    )
    .all() as Array<Record<string, number | string | null>>;
  const acc = new Map<
    string,
    { n: number; errors: number; sums: number[]; counts: number[]; hist: Map<number, number> }
  >();
  for (const r of rows) {
    const t = Math.floor((r.timestamp as number) / step) * step;
    const places: Array<[string, string]> = [['global', '']];
    for (const [dim, col] of DIMENSIONS) if (typeof r[col] === 'string' && r[col] !== '') places.push([dim, r[col]]);
    for (const [dim, value] of places) {
      const k = `${r.app_id}|${dim}|${value}|${t}`;
      let a = acc.get(k);
      if (!a)
        acc.set(k, (a = { n: 0, errors: 0, sums: [0, 0, 0, 0, 0, 0], counts: [0, 0, 0, 0, 0, 0], hist: new Map() }));
      a.n++;
      if (((r.error_count as number | null) ?? 0) > 0) a.errors++;
      FIGURES.forEach(([col], i) => {
        const v = r[col];
        if (typeof v === 'number') {
          a.sums[i]! += v;
          a.counts[i]!++;
        }
      });
      const s = r.startup_time_ms;
      if (typeof s === 'number') a.hist.set(bucketOf(s), (a.hist.get(bucketOf(s)) ?? 0) + 1);
    }
  }
  const out = new Map<string, string>();
  for (const [k, a] of acc) {
    const hist = [...a.hist].sort((x, y) => x[0] - y[0]).map(([b, c]) => `${b}:${c}`);
    out.set(k, JSON.stringify([a.n, a.errors, a.sums, a.counts, hist.join(',')]));
  }
  return out;
}

/** The stored rollup rows of one step in the same form as bruteForce. */
function storedRows(db: Database.Database, step: number): Map<string, string> {
  const [table, t] = step === MIN ? ['qoe_minutes', 'minute'] : ['qoe_hours', 'hour'];
  const rows = db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
  const out = new Map<string, string>();
  for (const r of rows) {
    const pairs: Array<[number, number]> = [];
    const blob = r.startup_hist as Buffer | null;
    for (let o = 0; blob && o + 8 <= blob.length; o += 8) pairs.push([blob.readInt32LE(o), blob.readInt32LE(o + 4)]);
    const hist = pairs
      .filter(([, c]) => c !== 0)
      .sort((x, y) => x[0] - y[0])
      .map(([b, c]) => `${b}:${c}`);
    const names = FIGURES.map(([, n]) => n);
    out.set(
      `${r.app_id}|${r.dimension}|${r.value}|${r[t]}`,
      JSON.stringify([
        r.sessions,
        r.sessions_with_errors,
        names.map((n) => r[`${n}_sum`]),
        names.map((n) => r[`${n}_count`]),
        hist.join(','),
      ]),
    );
  }
  return out;
}

/** Keys whose stored row differs from the brute force (missing, extra or unequal), with both sides. */
function mismatches(db: Database.Database, step: number): string[] {
  const want = bruteForce(db, step);
  const have = storedRows(db, step);
  const out: string[] = [];
  for (const [k, v] of want) if (have.get(k) !== v) out.push(`${k}: stored ${have.get(k) ?? 'none'}, sessions ${v}`);
  for (const [k, v] of have) if (!want.has(k)) out.push(`${k}: stored ${v}, no sessions`);
  return out;
}

function isRunning(p: ServerProcess): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

/**
 * WORKERS loops posting single sessions and batches of 2–8 until the kill: ids from a shared pool, so many
 * requests replace a stored session (often with a timestamp in another minute or hour, so the old row's
 * contribution leaves one bucket for another), a few sessions two days old (written at once, never pending).
 */
async function ingestThenKill(server: ServerProcess, round: number, killAfterMs: number): Promise<number> {
  const rand = prng(1000 + round);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const maybe = <T>(v: T) => (rand() < 0.2 ? null : v);
  const now = Date.now();
  let killed = false;
  let acked = 0;
  const worker = async () => {
    while (!killed) {
      const size = rand() < 0.4 ? 1 : 2 + Math.floor(rand() * 7);
      const sessions = Array.from({ length: size }, () =>
        sdkSession({
          sessionId: `pool-${Math.floor(rand() * 1500)}`,
          timestamp: rand() < 0.1 ? now - 2 * DAY - Math.floor(rand() * HOUR) : now - Math.floor(rand() * 2 * HOUR),
          startupTimeMs: maybe(Math.floor(Math.exp(rand() * 9))),
          rebufferTimeMs: maybe(Math.floor(rand() * 5_000)),
          playTimeMs: maybe(Math.floor(rand() * 600_000)),
          totalSeekCount: maybe(Math.floor(rand() * 5)),
          errorCount: maybe(rand() < 0.1 ? 1 : 0),
          contentId: maybe(pick(['a', 'b', 'c', 'd'])),
          country: maybe(pick(['US', 'DE', 'FR'])),
          os: maybe(pick(['Android 14', 'Android 13'])),
          playerName: maybe(pick(['exoplayer', 'media3'])),
        }),
      );
      try {
        const res = await fetch(`${server.url}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: JSON.stringify(size === 1 ? sessions[0] : sessions),
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status === 200) acked += size;
        else if (!killed) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        if (!killed) throw err;
        return;
      }
    }
  };
  const loops = Array.from({ length: WORKERS }, () => worker());
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  killed = true;
  server.proc.kill('SIGKILL');
  await Promise.all(loops);
  return acked;
}

describe.skipIf(TEST_STORE !== 'sqlite')('QoE rollups coalesced across group commits (SQLite)', () => {
  test('kill -9 mid-ingestion with replacements: after the restart every rollup row equals the brute force', async () => {
    const dir = makeTempDir('m3w-qoe-crash-');
    const dbFile = path.join(dir, 'm3w-data', 'm3w.db');
    let server = await spawnServer({ cwd: dir, env: ENV });
    let marksLeft = 0;
    try {
      for (let round = 0; round < KILL_AFTER_MS.length; round++) {
        const acked = await ingestThenKill(server, round, KILL_AFTER_MS[round]!);
        expect(acked, `round ${round} acknowledged`).toBeGreaterThan(50);
        expect(await server.exited).toBe('SIGKILL');
        // What the crash left: marks of deltas that were only in memory (the restart must recompute them).
        const crashed = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          marksLeft += crashed.prepare('SELECT count(*) FROM qoe_dirty').pluck().get() as number;
        } finally {
          crashed.close();
        }
        server = await spawnServer({ cwd: dir, env: ENV });
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBeGreaterThan(0);
          for (const step of [MIN, HOUR])
            expect(mismatches(db, step).slice(0, 5), `round ${round}, step ${step}`).toEqual([]);
          expect(db.prepare('SELECT count(*) FROM qoe_dirty').pluck().get(), `round ${round} marks`).toBe(0);
        } finally {
          db.close();
        }
      }
      // Without marks at a kill, no recovery ran and the test proved only the clean path.
      expect(marksLeft, 'marks left by the kills').toBeGreaterThan(0);

      server.proc.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        expect(db.prepare('SELECT count(*) FROM qoe_dirty').pluck().get()).toBe(0);
        for (const step of [MIN, HOUR]) expect(mismatches(db, step).slice(0, 5)).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      if (isRunning(server)) {
        server.proc.kill('SIGKILL');
        await server.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.skipIf(TEST_STORE !== 'sqlite')('a group that rolls back while deltas are pending (SQLite)', () => {
  test('its deltas leave the pending set exactly: no stray figures, no empty rows, the rest written', async () => {
    const dir = makeTempDir('m3w-qoe-rollback-');
    const file = path.join(dir, 'm3w.db');
    const store = await SqliteStore.open({ file, durability: 'full' });
    try {
      await store.ensureApp('default', 'Default', Date.now());
      const now = Date.now();
      const one = (id: string, over: Record<string, unknown>) => {
        const v = validateSessionBody(sdkSession({ sessionId: id, ...over }), 10);
        if (!v.ok) throw new Error(JSON.stringify(v.issues));
        return v.sessions;
      };
      // Pending in the writer's memory (no read, well within its idle flush)...
      await store.upsertSessions(
        'default',
        one('r1', { timestamp: now - MIN, country: 'DE', startupTimeMs: 900 }),
        now,
      );
      // ...when a group holding a replacement of r1, a new session with values nothing else has, and a request
      // for an app that does not exist (a foreign key refuses it) rolls back, then is retried request by request.
      const results = await Promise.allSettled([
        store.upsertSessions('default', one('r1', { timestamp: now, country: 'FR', startupTimeMs: 1200 }), now),
        store.upsertSessions('default', one('r2', { timestamp: now, country: 'JP', contentId: 'only-here' }), now),
        store.upsertSessions('no-such-app', one('r3', { timestamp: now, country: 'BR', contentId: 'doomed' }), now),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    } finally {
      await store.close(); // writes what is pending
    }
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(2);
      for (const step of [MIN, HOUR]) expect(mismatches(db, step), `step ${step}`).toEqual([]);
      expect(db.prepare("SELECT count(*) FROM qoe_minutes WHERE app_id = 'no-such-app'").pluck().get()).toBe(0);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('QoE reads right after ingestion', () => {
  let s: TestServer;
  let readKey: string;
  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
  });
  afterAll(() => s.close());

  test('a read right after a 200 sees the session in the rollups', async () => {
    const now = Date.now();
    const from = Math.floor((now - HOUR) / MIN) * MIN;
    const to = Math.ceil((now + MIN) / MIN) * MIN;
    let startupSum = 0;
    for (let i = 1; i <= 25; i++) {
      const startup = 100 + i;
      startupSum += startup;
      const res = await postSessions(
        s.url,
        sdkSession({ sessionId: `read-${i}`, timestamp: now - i * 1000, startupTimeMs: startup }),
        {
          key: s.apiKey,
        },
      );
      expect(res.status).toBe(200);
      // Through the API, as a dashboard reads...
      const summary = await fetch(`${s.url}/api/v1/qoe/summary?app=default&from=${from}&to=${to}`, {
        headers: { 'x-api-key': readKey },
      });
      expect(summary.status).toBe(200);
      expect(((await summary.json()) as { current: { sessions: number } }).current.sessions, `after ${i}`).toBe(i);
      // ...and through the store, with the sums.
      const rows = await s.server.store.qoeRows(60_000, 'default', 'global', '', from, to);
      expect(rows.reduce((a, r) => a + r.sessions, 0)).toBe(i);
      expect(rows.reduce((a, r) => a + r.startupSum, 0)).toBe(startupSum);
    }
    // Replacements (newer timestamps, other minutes, other startup times): the read right after sees them.
    for (const [id, startup] of [
      ['read-1', 5],
      ['read-2', 7],
    ] as const)
      expect(
        (
          await postSessions(s.url, sdkSession({ sessionId: id, timestamp: now + 1, startupTimeMs: startup }), {
            key: s.apiKey,
          })
        ).status,
      ).toBe(200);
    const rows = await s.server.store.qoeRows(60_000, 'default', 'global', '', from, to);
    expect(rows.reduce((a, r) => a + r.sessions, 0)).toBe(25);
    expect(rows.reduce((a, r) => a + r.startupSum, 0)).toBe(startupSum - 101 - 102 + 5 + 7);
    expect(rows.find((r) => r.t === Math.floor((now + 1) / MIN) * MIN)?.startupCount).toBeGreaterThanOrEqual(2);
  });

  test.skipIf(TEST_STORE !== 'sqlite')(
    'the database file gets the rollups within a second without any read',
    async () => {
      const now = Date.now();
      for (let i = 0; i < 5; i++)
        expect(
          (
            await postSessions(s.url, sdkSession({ sessionId: `idle-${i}`, timestamp: now - 3 * HOUR }), {
              key: s.apiKey,
            })
          ).status,
        ).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const db = new Database(s.config.databasePath, { readonly: true });
      try {
        const hour = Math.floor((now - 3 * HOUR) / HOUR) * HOUR;
        expect(
          db
            .prepare("SELECT sessions FROM qoe_hours WHERE app_id = 'default' AND dimension = 'global' AND hour = ?")
            .pluck()
            .get(hour),
        ).toBe(5);
        expect(db.prepare('SELECT count(*) FROM qoe_dirty').pluck().get()).toBe(0);
      } finally {
        db.close();
      }
    },
  );

  test('an app deleted while its rollup deltas are pending gets no rows back; recreated, it starts empty', async () => {
    const store = s.server.store;
    const app = 'pending-doomed';
    expect(await store.createApp(app, app, Date.now())).not.toBeNull();
    const key = (await createApiKey(store, { appId: app, name: 'k', scopes: ['ingest'] })).key;
    const now = Date.now();
    const batch = Array.from({ length: 20 }, (_, i) =>
      sdkSession({ sessionId: `d-${i}`, timestamp: now - i * MIN, country: 'DE' }),
    );
    expect((await postSessions(s.url, batch, { key })).status).toBe(200);
    // No read in between: the deltas are still in the writer's memory when the app goes.
    expect(await store.deleteApp(app)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (TEST_STORE === 'sqlite') {
      const db = new Database(s.config.databasePath, { readonly: true });
      try {
        for (const t of ['sessions', 'qoe_minutes', 'qoe_hours', 'qoe_dirty'])
          expect(db.prepare(`SELECT count(*) FROM ${t} WHERE app_id = ?`).pluck().get(app), t).toBe(0);
      } finally {
        db.close();
      }
    }
    expect(await store.qoeRows(3_600_000, app, 'global', '', now - DAY, now + HOUR)).toEqual([]);
    expect(await store.createApp(app, app, Date.now())).not.toBeNull();
    const key2 = (await createApiKey(store, { appId: app, name: 'k', scopes: ['ingest'] })).key;
    expect((await postSessions(s.url, sdkSession({ sessionId: 'd-0', timestamp: now }), { key: key2 })).status).toBe(
      200,
    );
    const rows = await store.qoeRows(3_600_000, app, 'global', '', now - DAY, now + HOUR);
    expect(rows.map((r) => r.sessions)).toEqual([1]);
    expect(await store.qoeRows(60_000, app, 'country', 'DE', now - DAY, now + HOUR)).toEqual([]);
  });
});

describe.skipIf(TEST_STORE !== 'sqlite')('a second process on the database (SQLite)', () => {
  test('a CLI command opening the store beside the running server leaves the server’s pending rollups alone', async () => {
    const s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    try {
      const now = Date.now();
      const from = Math.floor((now - HOUR) / MIN) * MIN;
      const to = Math.ceil((now + MIN) / MIN) * MIN;
      // Steady ingestion, so the server's writer always holds deltas not yet written (and marked)...
      let sent = 0;
      let ingesting = true;
      const ingestion = (async () => {
        while (ingesting) {
          const batch = Array.from({ length: 20 }, () => sdkSession({ sessionId: `beside-${sent++}`, timestamp: now }));
          expect((await postSessions(s.url, batch, { key: s.apiKey })).status).toBe(200);
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // ...while what `m3w apikey create` or `m3w grafana export` does happens beside it, three times.
      for (let i = 0; i < 3; i++) {
        const cli = await SqliteStore.open({ file: s.config.databasePath, durability: 'full' });
        await cli.close();
      }
      ingesting = false;
      await ingestion;
      const rows = await s.server.store.qoeRows(60_000, 'default', 'global', '', from, to);
      expect(sent).toBeGreaterThan(100);
      expect(rows.reduce((a, r) => a + r.sessions, 0)).toBe(sent);
    } finally {
      await s.close();
    }
  }, 60_000);

  test('a second writer on the file (an import beside the server) clears only its own rollup marks', async () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'm3w.db');
    const server = await SqliteStore.open({ file, durability: 'full', owner: true });
    const importer = await SqliteStore.open({ file, durability: 'full' });
    const now = Date.now();
    const one = (id: string) => {
      const v = validateSessionBody([sdkSession({ sessionId: id, timestamp: now })], 10);
      if (!v.ok) throw new Error('fixture');
      return v.sessions;
    };
    try {
      await server.ensureApp('a1', 'One', now);
      await importer.ensureApp('a2', 'Two', now);
      // The server's writer leaves its deltas pending for up to 250 ms when idle (then writes them): within that
      // window the importer writes and flushes its own. Its flush must leave the server's mark, or a crash of
      // the server now would lose those deltas for good. Tried a few times, since a loaded machine can make the
      // server's idle flush come first.
      let survived = 0;
      for (let i = 0; i < 5 && survived === 0; i++) {
        await server.upsertSessions('a1', one(`srv-${i}`), now);
        await importer.upsertSessions('a2', one(`imp-${i}`), now);
        await importer.qoeRows(MIN, 'a2', 'global', '', now - HOUR, now + HOUR); // flushes the importer's deltas
        const db = new Database(file, { readonly: true });
        try {
          survived += db.prepare("SELECT count(*) FROM qoe_dirty WHERE app_id = 'a1'").pluck().get() as number;
          expect(db.prepare("SELECT count(*) FROM qoe_dirty WHERE app_id = 'a2'").pluck().get()).toBe(0);
        } finally {
          db.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(survived, 'the server’s mark outlives the importer’s flush').toBeGreaterThan(0);
      const rows = await server.qoeRows(MIN, 'a1', 'global', '', now - HOUR, now + HOUR);
      expect(rows.reduce((a, r) => a + r.sessions, 0)).toBeGreaterThan(0);
    } finally {
      await importer.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
