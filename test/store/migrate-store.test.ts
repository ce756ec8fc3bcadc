// m3w migrate-store: a SQLite database filled through the real server (sessions, webhook plays, users, keys, a
// room with chat, an alert rule) is moved into a fresh Postgres schema; the server then runs on Postgres and gives
// the same answers, and the SQLite file is unchanged. A copy killed half-way resumes where it stopped; a schema
// that holds data, or another database's unfinished copy, is refused.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { validateSessionSummary } from '../../src/ingest/index.ts';
import { openStore } from '../../src/store/index.ts';
import { call, createUser, login, setupAdmin } from '../helpers/accounts.ts';
import { M3W_BIN, runCliAsync } from '../helpers/child.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';
import { joinAsUser, videoRow } from '../rooms/room-fixture.ts';

const MINUTE = 60_000;
const schemas: string[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** sha256 of the database file and its WAL: what "left untouched" means. */
function fingerprint(file: string): string {
  const h = createHash('sha256');
  for (const f of [file, `${file}-wal`]) if (existsSync(f)) h.update(readFileSync(f));
  return h.digest('hex');
}

async function count(schema: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return Number((await client.query(`SELECT count(*) AS n FROM "${schema}".${table}`)).rows[0].n);
  } finally {
    await client.end();
  }
}

async function tableExists(schema: string, table: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query('SELECT to_regclass($1) AS t', [`"${schema}".${table}`])).rows[0].t !== null;
  } finally {
    await client.end();
  }
}

describe.skipIf(!needs('postgres'))('m3w migrate-store', () => {
  test('a database made through the API answers the same on Postgres after the move; the SQLite file is unchanged', async () => {
    const dir = makeTempDir('m3w-move-');
    dirs.push(dir);
    const file = path.join(dir, 'm3w.db');
    const schema = testSchemaName();
    schemas.push(schema);
    const now = Date.now();
    const t0 = Math.floor(now / MINUTE) * MINUTE - 3 * 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();

    const limits = { rateLimit: { requests: 1_000_000, windowSec: 60 } };
    const sqliteServer = await startTestServer({ ...limits, databaseUrl: file }, dir);
    // A room on a video record still uploading (no transcode job that a server might run between the reads).
    const admin = (await setupAdmin(sqliteServer)).accessToken;
    await createUser(sqliteServer, admin, 'member@example.com', 'member', ['default']);
    const videoId = await videoRow(sqliteServer, 'default', null);
    const room = await call(sqliteServer, 'POST', '/api/v1/rooms', {
      token: admin,
      body: { name: 'Movie night', videoId },
    });
    expect(room.status).toBe(201);
    const f = { ts: sqliteServer, admin, member: '', videoId, roomId: room.json!.id as string };
    // SDK sessions in two apps, with a replaced one (newer timestamp) in the first.
    const sessions = Array.from({ length: 120 }, (_, i) =>
      sdkSession({
        sessionId: `mv-${i}`,
        timestamp: t0 + i * MINUTE,
        sessionStartDateIso: iso(t0 + i * MINUTE - 30_000),
        startupTimeMs: 150 + ((i * 37) % 2000),
        errorCount: i % 7 === 0 ? 1 : 0,
        errorCode: i % 7 === 0 ? 'E_DECODER' : null,
        country: ['DE', 'US', 'FR'][i % 3],
        contentId: `movie-${i % 4}`,
        custom: { plan: i % 2 ? 'free' : 'pro' },
      }),
    );
    expect((await postSessions(sqliteServer.url, sessions, { key: sqliteServer.apiKey })).status).toBe(200);
    const replaced = sdkSession({ sessionId: 'mv-3', timestamp: t0 + 3 * MINUTE + 1, startupTimeMs: 4321 });
    expect((await postSessions(sqliteServer.url, replaced, { key: sqliteServer.apiKey })).status).toBe(200);
    const api = (method: string, p: string, body?: unknown, token = admin) =>
      call(sqliteServer, method, p, { token, body });
    expect((await api('POST', '/api/v1/apps', { id: 'second', name: 'Second app' })).status).toBe(201);
    const key = await api('POST', '/api/v1/apps/second/keys', { name: 'phones', scopes: ['ingest', 'read'] });
    expect(key.status).toBe(201);
    const secondKey = key.json!.key as string;
    expect(
      (await postSessions(sqliteServer.url, [sdkSession({ sessionId: 'other' })], { key: secondKey })).status,
    ).toBe(200);
    // Webhook plays: five started half an hour ago, three of them closed since.
    for (let i = 0; i < 5; i++) {
      const started = {
        event: 'play_started',
        id: `play-${i}`,
        time: iso(now - 30 * MINUTE + i * 1000),
        server: 'edge-1',
        media: 'ch1',
        country: i % 2 ? 'DE' : 'US',
        proto: 'hls',
        user_id: `viewer-${i}`,
        user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)',
      };
      const r = await call(sqliteServer, 'POST', '/api/webhook', { key: sqliteServer.apiKey, body: started });
      expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
      if (i < 3) {
        const closed = {
          event: 'play_closed',
          id: `play-${i}`,
          time: iso(now - 10 * MINUTE),
          bytes: 1_000_000 * (i + 1),
        };
        expect(
          (await call(sqliteServer, 'POST', '/api/webhook', { key: sqliteServer.apiKey, body: closed })).status,
        ).toBeLessThan(300);
      }
    }
    await sqliteServer.server.analytics.runMinuteJob(now);
    // An alert rule with its channel, a chat message in the room, a second login of the member.
    const channel = await api('POST', '/api/v1/notification-channels', {
      appId: 'default',
      name: 'ops',
      type: 'webhook',
      config: { url: 'https://hooks.example.com/m3w', secret: 'signing-key' },
    });
    expect(channel.status).toBe(201);
    const rule = await api('POST', '/api/v1/alert-rules', {
      appId: 'default',
      name: 'failures',
      metric: 'playback_failure_pct',
      op: 'above',
      threshold: 5,
      channelIds: [channel.json!.id],
    });
    expect(rule.status, JSON.stringify(rule.json)).toBe(201);
    const host = await joinAsUser(f, admin);
    host.send({ type: 'chat', text: 'hello from SQLite' });
    await host.next((m) => m.type === 'chat');
    host.close();

    const from = t0 - 3_600_000;
    const to = Math.floor(now / MINUTE) * MINUTE - 2 * MINUTE;
    const reads = [
      '/api/v1/apps',
      '/api/v1/apps/default/keys',
      '/api/v1/apps/second/keys',
      '/api/v1/users',
      '/api/v1/audit',
      '/api/v1/sessions?app=default',
      '/api/v1/sessions/mv-3?app=default',
      '/api/v1/sessions/other?app=second',
      `/api/v1/qoe/summary?app=default&from=${from}&to=${to}`,
      `/api/v1/qoe/breakdown?app=default&dimension=country&from=${from}&to=${to}`,
      `/api/v1/qoe/timeseries?app=default&metric=startup_p95_ms&from=${from}&to=${to}&step=3600`,
      '/stats/active?app=default',
      '/api/v1/streams?app=default',
      `/api/v1/streams/ch1/metrics?app=default&from=${now - 3_600_000}&to=${to}&step=60`,
      `/api/v1/moments?app=default&from=${from}&to=${to}`,
      '/api/v1/rooms?app=default',
      `/api/v1/rooms/${f.roomId}`,
      '/api/v1/videos?app=default',
      '/api/v1/notification-channels?app=default',
      '/api/v1/alert-rules?app=default',
    ];
    const answers = async (ts: TestServer) => {
      const out: Record<string, unknown> = {};
      for (const p of reads) {
        const r = await call(ts, 'GET', p, { token: admin });
        expect(r.status, `${p}: ${r.text}`).toBe(200);
        // Set in the background whenever a server gets to it: when a key was last used, when a rule was last
        // evaluated (each minute). Links name the server's own (ephemeral) port.
        out[p] = JSON.parse(
          r.text.replace(/"(lastUsedAt|lastEvaluatedAt)":(\d+|null)/g, '"$1":"…"').replaceAll(ts.url, 'http://m3w'),
        );
        // A stream's last_minute is the latest minute the minute job has rolled up: when a minute ends between
        // the two reads, the second server rolls up one the first had not (a CI run saw exactly that). The
        // per-minute series (/streams/ch1/metrics, up to two minutes before the reads) is still compared whole.
        if (p.startsWith('/api/v1/streams?'))
          for (const stream of (out[p] as { streams: Array<Record<string, unknown>> }).streams)
            delete stream.last_minute;
      }
      out['/v1/sessions/mv-3 (ingest key)'] = (await call(ts, 'GET', '/v1/sessions/mv-3', { key: ingestKey })).json;
      return out;
    };
    const ingestKey = sqliteServer.apiKey;
    const before = await answers(sqliteServer);
    const whileRunning = await runCliAsync(['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema], {
      cwd: dir,
      env: { M3W_DATA_DIR: dir },
    });
    expect(whileRunning.status).toBe(1);
    expect(whileRunning.stderr).toMatch(/an m3w server \(pid \d+\) is running on .*m3w\.db; stop it before moving/);
    await sqliteServer.server.close();
    const sqliteFingerprint = fingerprint(file);

    const moved = await runCliAsync(['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema], {
      cwd: dir,
      env: { M3W_DATA_DIR: dir },
    });
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^Copying .*m3w\.db to postgres:\/\/.* \(schema m3w_test_[0-9a-f]+\)\n/);
    expect(moved.stdout).toMatch(/\n {2}sessions +121 → 121 +ok\n/);
    expect(moved.stdout).toMatch(/\n {2}play_sessions +5 → 5 +ok\n/);
    expect(moved.stdout).toMatch(/All \d+ tables match/);
    expect(moved.stdout).not.toMatch(/DIFFERENT/);
    expect(fingerprint(file)).toBe(sqliteFingerprint);
    expect(await tableExists(schema, 'm3w_store_move')).toBe(false);

    const pgServer = await startTestServer(
      { ...limits, databaseUrl: TEST_DATABASE_URL, postgres: { schema, poolSize: 4 } },
      dir,
    );
    try {
      expect(pgServer.server.store.kind).toBe('postgres');
      const after = await answers(pgServer);
      expect(after).toEqual(before);
      // New rows get new ids (sequences continue after the copied ones), and logins still work.
      const second = await call(pgServer, 'POST', '/api/v1/alert-rules', {
        token: admin,
        body: { appId: 'default', name: 'slow starts', metric: 'startup_p95_ms', op: 'above', threshold: 3000 },
      });
      expect(second.status, JSON.stringify(second.json)).toBe(201);
      expect(second.json!.id).toBe(rule.json!.id + 1);
      expect(
        (await postSessions(pgServer.url, sdkSession({ sessionId: 'after-move' }), { key: ingestKey })).status,
      ).toBe(200);
      const users = (await call(pgServer, 'GET', '/api/v1/users', { token: admin })).json!.users as Array<{
        email: string;
      }>;
      const member = users.find((u) => u.email.startsWith('member'))!;
      expect((await login(pgServer, member.email, `pw-${member.email}-0123456789`)).accessToken).toBeTruthy();
    } finally {
      await pgServer.server.close();
    }
  }, 90_000);

  test('a file a crash left with rollup rows to recompute (qoe_dirty marks) is refused until m3w has started on it', async () => {
    const dir = makeTempDir('m3w-move-dirty-');
    dirs.push(dir);
    const file = path.join(dir, 'm3w.db');
    const schema = testSchemaName();
    schemas.push(schema);
    const opts = {
      databasePath: file,
      durability: 'normal' as const,
      postgresUrl: null,
      postgres: { schema: 'public', poolSize: 1 },
    };
    let store = await openStore(opts);
    await store.ensureApp('default', 'Default app', Date.now());
    const r = validateSessionSummary(sdkSession({ sessionId: 'dirty-1', timestamp: Date.now() }));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    await store.upsertSessions('default', [r.session], Date.now());
    await store.close();
    // What a kill -9 leaves when the writer had rollup deltas in memory: the rows are wrong, the mark says so.
    const db = new Database(file);
    db.prepare(
      "UPDATE qoe_minutes SET sessions = sessions + 5 WHERE app_id = 'default' AND dimension = 'global'",
    ).run();
    db.prepare(
      "INSERT INTO qoe_dirty (app_id, minute) SELECT app_id, minute FROM qoe_minutes WHERE dimension = 'global'",
    ).run();
    db.close();
    const args = ['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema];
    const refused = await runCliAsync(args, { cwd: dir, env: { M3W_DATA_DIR: dir } });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/was not shut down cleanly: some QoE rollup rows need recomputing/);
    expect(await tableExists(schema, 'sessions')).toBe(false);
    // A server start (the owner of the data) recomputes the marked rows; then the move goes through, right.
    store = await openStore(opts, { owner: true });
    expect(
      (await store.qoeRows(60_000, 'default', 'global', '', 0, Date.now() + MINUTE)).map((x) => x.sessions),
    ).toEqual([1]);
    await store.close();
    const moved = await runCliAsync(args, { cwd: dir, env: { M3W_DATA_DIR: dir } });
    expect(moved.stderr).toBe('');
    expect(moved.status).toBe(0);
    expect(await count(schema, 'sessions')).toBe(1);
  }, 60_000);

  test('a copy killed half-way resumes where it stopped; a non-empty schema and another database are refused', async () => {
    const dir = makeTempDir('m3w-move-resume-');
    dirs.push(dir);
    const file = path.join(dir, 'm3w.db');
    const schema = testSchemaName();
    schemas.push(schema);
    const SESSIONS = 30_000;
    const store = await openStore({
      databasePath: file,
      durability: 'normal',
      postgresUrl: null,
      postgres: { schema: 'public', poolSize: 1 },
    });
    await store.ensureApp('default', 'Default app', Date.now());
    const t0 = Date.now() - 2 * 86_400_000;
    for (let b = 0; b < SESSIONS; b += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j) => {
        const i = b + j;
        const r = validateSessionSummary(
          sdkSession({
            sessionId: `r-${i}`,
            timestamp: t0 + i * 5000,
            sessionStartDateIso: new Date(t0 + i * 5000 - 60_000).toISOString(),
            country: ['DE', 'US', 'FR', 'JP'][i % 4],
          }),
        );
        if (!r.ok) throw new Error(JSON.stringify(r.issues));
        return r.session;
      });
      await store.upsertSessions('default', batch, Date.now());
    }
    await store.close();
    const args = ['migrate-store', '--to', TEST_DATABASE_URL, '--schema', schema];

    // Killed (SIGKILL: nothing to clean up) once the sessions table is a tenth copied.
    const proc = spawn(process.execPath, [M3W_BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', M3W_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const killedAt = await new Promise<number>((resolve, reject) => {
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /\nsessions +\[[#.]+\] +\d+% +([\d,]+)\/30,000/.exec(out);
        if (m) {
          proc.kill('SIGKILL');
          resolve(Number(m[1]!.replace(/,/g, '')));
        }
      });
      proc.on('exit', () => reject(new Error(`migrate-store ended before it could be killed:\n${out}`)));
    });
    await new Promise((resolve) => proc.on('exit', resolve));
    const partial = await count(schema, 'sessions');
    expect(partial).toBeGreaterThanOrEqual(killedAt);
    expect(partial).toBeLessThan(SESSIONS);
    expect(await tableExists(schema, 'm3w_store_move')).toBe(true);

    // Another database may not continue this copy.
    const otherDir = makeTempDir('m3w-move-other-');
    dirs.push(otherDir);
    const other = await openStore({
      databasePath: path.join(otherDir, 'm3w.db'),
      durability: 'normal',
      postgresUrl: null,
      postgres: { schema: 'public', poolSize: 1 },
    });
    await other.close();
    const wrong = await runCliAsync([...args, '--from', path.join(otherDir, 'm3w.db')], { cwd: dir });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/holds a copy begun from .*m3w-move-resume-.*m3w\.db.*not .*m3w-move-other-/);

    const resumed = await runCliAsync(args, { cwd: dir, env: { M3W_DATA_DIR: dir } });
    expect(resumed.status, resumed.stderr).toBe(0);
    const copied = Number(/Resumed an earlier run: copied ([\d,]+) rows/.exec(resumed.stdout)![1]!.replace(/,/g, ''));
    // Only what the first run had not committed was copied again.
    const qoeRows = Number(/\n {2}qoe_minutes +([\d,]+) →/.exec(resumed.stdout)![1]!.replace(/,/g, ''));
    expect(copied).toBeLessThanOrEqual(SESSIONS - partial + qoeRows + 1000);
    expect(copied).toBeGreaterThanOrEqual(SESSIONS - partial);
    expect(resumed.stdout).toMatch(/\n {2}sessions +30,000 → 30,000 +ok\n/);
    expect(await count(schema, 'sessions')).toBe(SESSIONS);
    expect(await tableExists(schema, 'm3w_store_move')).toBe(false);

    // Done: the schema now holds data, and a new copy into it is refused without writing anything.
    const again = await runCliAsync(args, { cwd: dir, env: { M3W_DATA_DIR: dir } });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `\\(schema ${schema}\\) is not empty \\(sessions: 30,000 rows, .*\\); migrate-store copies only into an empty schema`,
      ),
    );
    expect(await count(schema, 'sessions')).toBe(SESSIONS);
  }, 120_000);
});
