// Streaming analytics has an app boundary: plays, live counts, rollups, moments and live topics belong to the
// app of the key that sent the events, through a real server, real SQLite, real HTTP and real WebSockets.
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/index.ts';
import { migrate, readMigrations } from '../src/store/sqlite/migrate.ts';
import { call, createUser, setupAdmin } from './helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from './helpers/server.ts';
import { openSocket, type TestSocket } from './helpers/ws-client.ts';
import { playClosed, playStarted, postWebhook } from './engine/webhook-helpers.ts';

let s: TestServer;
let ws: string;
const keys = { ingestA: '', ingestB: '', readA: '', readB: '' };
let member: string;
/** Before any play is sent: on a slow machine the plays and this test may fall in different minutes. */
const firstMinute = Math.floor(Date.now() / 60_000) * 60_000;
const sockets: TestSocket[] = [];
const open = async (url: string, headers: Record<string, string> = {}) => {
  const c = await openSocket(url, headers);
  sockets.push(c);
  return c;
};

beforeAll(async () => {
  s = await startTestServer({ liveIntervalMs: 250 });
  ws = s.url.replace('http', 'ws');
  const store = s.server.store;
  const admin = (await setupAdmin(s)).accessToken;
  for (const app of ['app-a', 'app-b']) await store.ensureApp(app, app, Date.now());
  keys.ingestA = (await createApiKey(store, { appId: 'app-a', name: 'ia', scopes: ['ingest'] })).key;
  keys.ingestB = (await createApiKey(store, { appId: 'app-b', name: 'ib', scopes: ['ingest'] })).key;
  keys.readA = (await createApiKey(store, { appId: 'app-a', name: 'ra', scopes: ['read'] })).key;
  keys.readB = (await createApiKey(store, { appId: 'app-b', name: 'rb', scopes: ['read'] })).key;
  member = (await createUser(s, admin, 'a-only@example.com', 'member', ['app-a'])).accessToken;
  const now = Date.now();
  // B: three viewers of "news" on b-server; A: one viewer of "sport" on a-server. The same play id in both.
  const b = ['shared', 'b-2', 'b-3'].map((id) => playStarted(id, now, { media: 'news', server: 'b-server' }));
  expect((await postWebhook(s.url, b, keys.ingestB)).status).toBe(200);
  const a = await postWebhook(s.url, playStarted('shared', now, { media: 'sport', server: 'a-server' }), keys.ingestA);
  // Idempotency is per app: A's "shared" is a new session, not a duplicate of B's.
  expect(await a.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
});
afterEach(async () => {
  for (const c of sockets.splice(0)) {
    c.close();
    await c.closed;
  }
});
afterAll(() => s?.close());

const get = (path: string, key: string) => call(s, 'GET', path, { key });

describe('stream routes answer for the caller app only', () => {
  test("/stats/active: A's read key sees A's viewers, never B's servers or channels", async () => {
    const r = await get('/stats/active', keys.readA);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 1, by_server: { 'a-server': 1 }, by_channel: { sport: 1 } });
    expect(JSON.stringify(r.json)).not.toMatch(/news|b-server/);
    expect((await get('/stats/active', keys.readB)).json).toMatchObject({ total: 3, by_channel: { news: 3 } });
  });

  test('naming another app answers 404 for every stream route (read key and member alike)', async () => {
    const paths = [
      '/stats/active?app=app-b',
      '/api/v1/streams?app=app-b',
      '/api/v1/streams/news/metrics?app=app-b',
      '/api/v1/streams/news/moments?app=app-b',
      '/api/v1/stats/series?dimension=global&app=app-b',
    ];
    for (const path of paths) {
      const byKey = await get(path, keys.readA);
      expect(byKey.status, path).toBe(404);
      expect(byKey.json!.error.code).toBe('NOT_FOUND');
      expect((await call(s, 'GET', path, { token: member })).status, path).toBe(404);
    }
  });

  test("a member sees the one app granted without naming it; the channel list is that app's", async () => {
    const active = await call(s, 'GET', '/stats/active', { token: member });
    expect(active.json).toMatchObject({ total: 1, by_channel: { sport: 1 } });
    const list = await call(s, 'GET', '/api/v1/streams', { token: member });
    expect(list.json!.streams.map((x: { channel: string }) => x.channel)).toEqual(['sport']);
    const listB = await get('/api/v1/streams', keys.readB);
    expect(listB.json!.streams).toEqual([expect.objectContaining({ channel: 'news', viewers: 3 })]);
  });

  test("A's ingest key cannot close B's play: B's viewers and B's session are unchanged", async () => {
    const before = (await get('/stats/active', keys.readB)).json!;
    const r = await postWebhook(
      s.url,
      playClosed('b-2', Date.now() - 1000, Date.now(), { media: 'news' }),
      keys.ingestA,
    );
    expect(r.status).toBe(200);
    expect((await get('/stats/active', keys.readB)).json).toEqual(before);
    expect(await s.server.store.getPlaySession('app-b', 'b-2')).toMatchObject({ closedAt: null });
    // What A sent is A's own (a close without a start is still one closed session), counted in A only.
    expect(await s.server.store.getPlaySession('app-a', 'b-2')).toMatchObject({ appId: 'app-a' });
    expect((await get('/stats/active', keys.readA)).json!.total).toBe(1);
  });
});

describe('live topics are per app', () => {
  test("active:<app> and stream:<app>:<channel>: own app served, another app's closed with 4403", async () => {
    const c = await open(`${ws}/ws/live`, { 'x-api-key': keys.readA });
    c.send({ type: 'subscribe', topic: 'active:app-a' });
    const update = await c.next((m) => m.type === 'update' && m.topic === 'active:app-a');
    expect(update.data).toMatchObject({ total: 1, by_channel: { sport: 1 } });
    c.send({ type: 'subscribe', topic: 'stream:app-a:sport' });
    expect((await c.next((m) => m.type === 'update' && m.topic === 'stream:app-a:sport')).data).toMatchObject({
      viewers: 1,
    });
    c.send({ type: 'subscribe', topic: 'stream:app-b:news' });
    expect((await c.closed).code).toBe(4403);
    expect(c.messages.some((m) => String(m.topic).includes('app-b'))).toBe(false);

    const m = await open(`${ws}/ws/live`, { 'x-api-key': keys.readA });
    m.send({ type: 'subscribe', topic: 'active:app-b' });
    expect((await m.closed).code).toBe(4403);
    const bare = await open(`${ws}/ws/live`, { 'x-api-key': keys.readA });
    bare.send({ type: 'subscribe', topic: 'active' });
    expect((await bare.closed).code).toBe(4403);
  });

  test("legacy /ws/live/{streamId} follows the channel of the key's app; ?app= of another app is refused", async () => {
    const a = await open(`${ws}/ws/live/news`, { 'x-api-key': keys.readA });
    await a.next((m) => m.type === 'welcome');
    expect(await a.next((m) => m.type === 'metrics')).toMatchObject({ streamId: 'news', viewers: 0 });
    const b = await open(`${ws}/ws/live/news`, { 'x-api-key': keys.readB });
    expect(await b.next((m) => m.type === 'metrics')).toMatchObject({ streamId: 'news', viewers: 3 });
    const other = await open(`${ws}/ws/live/news?app=app-b`, { 'x-api-key': keys.readA });
    expect((await other.closed).code).toBe(4403);
    const ticket = (await call(s, 'POST', '/api/v1/ws-ticket', { token: member })).json!.ticket as string;
    const byMember = await open(`${ws}/ws/live/news?app=app-b&ticket=${encodeURIComponent(ticket)}`);
    expect((await byMember.closed).code).toBe(4403);
  });
});

describe('rollups, moments and app deletion', () => {
  test("the minute job keeps each app's figures apart; deleting an app deletes its plays and rollups", async () => {
    await s.server.analytics.runMinuteJob(Date.now() + 120_000);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const series = (app: string) =>
      s.server.store.streamSeries(60_000, app, 'global', '', firstMinute, minute + 60_000);
    // The minutes since the plays were sent, summed (they may straddle a minute boundary).
    const totals = async (app: string) => {
      const rows = await series(app);
      return {
        apps: [...new Set(rows.map((r) => r.appId))],
        peakConcurrent: Math.max(0, ...rows.map((r) => r.peakConcurrent)),
        sessionsStarted: rows.reduce((n, r) => n + r.sessionsStarted, 0),
        sessionsClosed: rows.reduce((n, r) => n + r.sessionsClosed, 0),
      };
    };
    expect(await totals('app-b')).toEqual({
      apps: ['app-b'],
      peakConcurrent: 3,
      sessionsStarted: 3,
      sessionsClosed: 0,
    });
    // A's rows hold A's sessions only ("shared" and A's own closed "b-2"), never B's server.
    expect(await totals('app-a')).toMatchObject({ apps: ['app-a'], sessionsStarted: 2, sessionsClosed: 1 });
    const bServer = (app: string) =>
      s.server.store.streamSeries(60_000, app, 'server', 'b-server', firstMinute, minute + 60_000);
    expect(await bServer('app-a')).toEqual([]);
    // One row per minute its plays were open: more than one when the test straddles a minute boundary.
    const bRows = await bServer('app-b');
    expect(bRows.length).toBeGreaterThanOrEqual(1);
    expect(new Set(bRows.map((r) => r.appId))).toEqual(new Set(['app-b']));
    const admin = (
      await call(s, 'POST', '/api/v1/auth/login', {
        body: { email: 'admin@example.com', password: 'correct horse battery' },
      })
    ).json!.accessToken;
    expect((await call(s, 'DELETE', '/api/v1/apps/app-b', { token: admin })).status).toBe(204);
    // Its open plays left the live tracker too: only A's are counted.
    expect(s.server.analytics.live.size).toBe(1);
    expect(await series('app-b')).toEqual([]);
    expect(await s.server.store.getPlaySession('app-b', 'shared')).toBeNull();
    expect(await s.server.store.getPlaySession('app-a', 'shared')).not.toBeNull();
  });
});

test('migration 0006 carries play sessions, stream rollups and stream moments into the default app', () => {
  const dir = makeTempDir();
  const db = new Database(`${dir}/old.db`);
  const all = readMigrations();
  migrate(
    db,
    all.filter((m) => m.version <= 3),
  );
  db.exec(`INSERT INTO play_sessions (id, server, channel, country, protocol, device, opened_at, received_at, started_seen)
           VALUES ('old-1', 'srv', 'ch', 'AU', 'hls', 'tv', 1000, 1000, 1);
           INSERT INTO stream_minutes VALUES ('global', '', 60000, 1, 0, 10, 60, 1, 1);
           INSERT INTO stream_hours VALUES ('channel', 'ch', 3600000, 1, 0, 10, 60, 1, 1);
           INSERT INTO moments (app_id, kind, metric, dimension, value, started_at, ended_at, peak_value, baseline, z_score, threshold)
             VALUES (NULL, 'spike', 'concurrent_viewers', 'global', '', 0, 60000, 9, 1, 5, 3);`);
  migrate(db, all);
  expect(db.prepare('SELECT app_id, id, channel FROM play_sessions').all()).toEqual([
    { app_id: 'default', id: 'old-1', channel: 'ch' },
  ]);
  expect(db.prepare('SELECT app_id, dimension, minute, total_bytes FROM stream_minutes').all()).toEqual([
    { app_id: 'default', dimension: 'global', minute: 60000, total_bytes: 10 },
  ]);
  expect(db.prepare('SELECT app_id, value FROM stream_hours').all()).toEqual([{ app_id: 'default', value: 'ch' }]);
  expect(db.prepare('SELECT app_id FROM moments').pluck().all()).toEqual(['default']);
  expect(db.prepare("SELECT count(*) FROM apps WHERE id = 'default'").pluck().get()).toBe(1);
  db.close();
});

describe('stream moments are per app', () => {
  // App B's viewers of "big" spike at minutes 42-43; app A has the same channel name, steady. The minute job on
  // a simulated clock finds B's spike: it is B's, listed and pushed to B's readers only.
  const MIN = 60_000;
  const t0 = Math.floor(Date.now() / MIN) * MIN - 50 * MIN;
  let t: TestServer;
  const read = { a: '', b: '' };
  beforeAll(async () => {
    t = await startTestServer({ liveIntervalMs: 250, rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    const store = t.server.store;
    for (const app of ['mo-a', 'mo-b']) await store.ensureApp(app, app, Date.now());
    const ingest = {
      a: (await createApiKey(store, { appId: 'mo-a', name: 'ia', scopes: ['ingest'] })).key,
      b: (await createApiKey(store, { appId: 'mo-b', name: 'ib', scopes: ['ingest'] })).key,
    };
    read.a = (await createApiKey(store, { appId: 'mo-a', name: 'ra', scopes: ['read'] })).key;
    read.b = (await createApiKey(store, { appId: 'mo-b', name: 'rb', scopes: ['read'] })).key;
    await t.server.analytics.runMinuteJob(t0);
    for (const app of ['a', 'b'] as const) {
      const events: Record<string, unknown>[] = [];
      for (let m = 0; m < 45; m++) {
        const n = app === 'b' && (m === 42 || m === 43) ? 200 : 25 + ((m * 7) % 11);
        for (let i = 0; i < n; i++) {
          const opened = t0 + m * MIN + 1_000 + i;
          events.push(playClosed(`${app}-${m}-${i}`, opened, opened + 50_000, { media: 'big', user_id: `u${i}` }));
        }
      }
      for (let b = 0; b < events.length; b += 500)
        expect((await postWebhook(t.url, events.slice(b, b + 500), ingest[app])).status).toBe(200);
    }
  });
  afterAll(() => t?.close());

  test("B's viewer spike is B's: listed and pushed to B's readers, never to A's", async () => {
    const live = t.url.replace('http', 'ws');
    const subscribers = { a: await open(`${live}/ws/live`, { 'x-api-key': read.a }) };
    const b = await open(`${live}/ws/live`, { 'x-api-key': read.b });
    for (const c of [subscribers.a, b]) {
      c.send({ type: 'subscribe', topic: 'moments' });
      await c.next((m) => m.type === 'subscribed');
    }
    await t.server.analytics.runMinuteJob(t0 + 46 * MIN);
    type Listed = { appId: string; metric: string; dimension: string; value: string; startedAt: number };
    const viewerSpike = (m: Record<string, unknown>) =>
      m.type === 'moment' && (m.moment as Listed).metric === 'concurrent_viewers';
    // The positive control: B hears its spike (global and channel "big"), with B's app id.
    const pushed = (await b.next(viewerSpike, 5000)).moment as Listed;
    expect(pushed).toMatchObject({ appId: 'mo-b', startedAt: t0 + 42 * MIN });
    const range = `from=${t0}&to=${t0 + 60 * MIN}`;
    const listed = async (path: string, key: string) =>
      (await call(t, 'GET', `${path}${path.includes('?') ? '&' : '?'}${range}`, { key })).json!.moments as Listed[];
    const ofB = await listed('/api/v1/streams/big/moments', read.b);
    expect(ofB.map((m) => [m.appId, m.dimension, m.value, m.startedAt])).toContainEqual([
      'mo-b',
      'channel',
      'big',
      t0 + 42 * MIN,
    ]);
    expect((await listed('/api/v1/moments?metric=concurrent_viewers', read.b)).length).toBeGreaterThanOrEqual(2);
    // A, with the same channel name and steady viewers, has no moment of its own and sees none of B's.
    expect(await listed('/api/v1/streams/big/moments', read.a)).toEqual([]);
    expect(await listed('/api/v1/moments?metric=concurrent_viewers', read.a)).toEqual([]);
    const stored = await t.server.store.listMoments({
      from: t0,
      to: t0 + 60 * MIN,
      metric: 'concurrent_viewers',
      limit: 100,
    });
    expect(new Set(stored.map((m) => m.appId))).toEqual(new Set(['mo-b']));
    // After a round trip, A's socket has heard no viewer moment.
    const mark = subscribers.a.messages.length;
    subscribers.a.send({ type: 'ping' });
    await subscribers.a.next((m) => m.type === 'pong', 2000, mark);
    expect(subscribers.a.messages.filter(viewerSpike)).toEqual([]);
  });
});
