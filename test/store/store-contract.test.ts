// The Store contract, run against every adapter (test/helpers/stores.ts): SQLite always, Postgres when CI=true
// or TEST_DATABASE_URL is set. Each case opens an empty store and checks behaviour through Store methods only,
// so the same expectations hold on both.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { validateSessionBody, type IngestedSession, type PlayEvent } from '../../src/ingest/index.ts';
import {
  MAX_GROUP_ROWS,
  type NewApiKey,
  type OpenedStore,
  type StoredMoment,
  type StreamRollupRow,
  type WriteBatchStats,
} from '../../src/store/index.ts';
import { sdkSession } from '../helpers/server.ts';
import { adapters, openTestStore, type OpenedTestStore } from '../helpers/stores.ts';

const T0 = 1_762_999_200_000; // a whole hour (UTC)
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function sessions(...items: Array<Record<string, unknown>>): IngestedSession[] {
  const v = validateSessionBody(
    items.map((o) => sdkSession(o)),
    10_000,
  );
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.sessions;
}

const key = (appId: string, prefix: string, over: Partial<NewApiKey> = {}): NewApiKey => ({
  appId,
  name: `key ${prefix}`,
  prefix,
  keyHash: `hash-${prefix}`,
  scopes: ['ingest', 'read'],
  createdAt: T0,
  ...over,
});

function play(event: 'play_started' | 'play_closed', id: string, over: Partial<PlayEvent> = {}): PlayEvent {
  return {
    event,
    id,
    server: 'edge-1',
    channel: 'news',
    country: 'DE',
    protocol: 'hls',
    device: 'desktop',
    userId: `u-${id}`,
    userName: null,
    address: '10.0.0.1',
    userAgent: 'Mozilla/5.0',
    openedAt: T0 + MIN,
    closedAt: event === 'play_closed' ? T0 + 5 * MIN : null,
    bytes: event === 'play_closed' ? 5_000_000 : 0,
    reason: event === 'play_closed' ? 'client' : null,
    raw: JSON.stringify({ event, id }),
    ...over,
  };
}

const rollupKey = (r: { dimension: string; value: string; t: number }) => `${r.dimension}|${r.value}|${r.t}`;

/** Every stored QoE rollup row of an app over [from, to) equals a recomputation from its raw sessions. */
async function expectRollupsExact(store: OpenedStore, appId: string, from: number, to: number): Promise<number> {
  let rows = 0;
  for (const step of [MIN, HOUR] as const) {
    const expected = await store.recomputeQoeRows(step, appId, from, to);
    const stored = [];
    for (const dim of ['global', 'contentId', 'country', 'deviceModel'])
      stored.push(...(await store.qoeRows(step, appId, dim, null, from, to)));
    const relevant = expected.filter((r) => ['global', 'contentId', 'country', 'deviceModel'].includes(r.dimension));
    expect(stored.map(rollupKey).sort()).toEqual(relevant.map(rollupKey).sort());
    const byKey = new Map(stored.map((r) => [rollupKey(r), r]));
    for (const r of relevant) expect(byKey.get(rollupKey(r)), rollupKey(r)).toEqual(r);
    rows += stored.length;
  }
  return rows;
}

describe.each(adapters())('Store contract on %s', (adapter) => {
  let t: OpenedTestStore;
  let store: OpenedStore;
  beforeEach(async () => {
    t = await openTestStore(adapter);
    store = t.store;
    await store.ensureApp('a1', 'App one', T0);
    await store.ensureApp('a2', 'App two', T0 + 1);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('kind and migrations: a new database gets every migration, a reopened one none', async () => {
    expect(store.kind).toBe(adapter);
    expect(store.migrations.applied.length).toBeGreaterThan(0);
    expect(store.migrations.alreadyApplied).toBe(0);
    await store.close();
    store = await t.reopen();
    expect(store.migrations.applied).toEqual([]);
    expect(store.migrations.alreadyApplied).toBeGreaterThan(0);
    await store.ping();
    expect(await store.getApp('a1')).toEqual({ id: 'a1', name: 'App one', createdAt: T0 });
  });

  test('apps: ensure is idempotent, create refuses a taken id, rename, list in creation order', async () => {
    expect(await store.ensureApp('a1', 'Other name', T0 + 5)).toEqual({ id: 'a1', name: 'App one', createdAt: T0 });
    expect(await store.createApp('a1', 'x', T0)).toBeNull();
    expect(await store.createApp('a0', 'Zero', T0 + 2)).toEqual({ id: 'a0', name: 'Zero', createdAt: T0 + 2 });
    expect((await store.listApps()).map((a) => a.id)).toEqual(['a1', 'a2', 'a0']);
    expect(await store.renameApp('a2', 'Renamed')).toEqual({ id: 'a2', name: 'Renamed', createdAt: T0 + 1 });
    expect(await store.renameApp('missing', 'x')).toBeNull();
    expect(await store.getApp('missing')).toBeNull();
  });

  test('the first key is created once, even by instances starting together', async () => {
    // On SQLite another instance cannot open the file (instance lock): the second store here is the same one.
    const other = adapter === 'postgres' ? await t.another() : store;
    try {
      const firsts = await Promise.all(
        ['f1', 'f2', 'f3', 'f4'].map((p, i) => (i % 2 ? other : store).insertFirstApiKey(key('a1', p))),
      );
      expect(firsts.filter((k) => k !== null)).toHaveLength(1);
      expect(await store.listApiKeys()).toHaveLength(1);
      await store.revokeApiKey(firsts.find((k) => k !== null)!.prefix, T0);
      expect(await store.insertFirstApiKey(key('a1', 'f5')), 'a revoked key still counts').toBeNull();
    } finally {
      if (other !== store) await other.close();
    }
  });

  test('deleting an app removes everything it owns, and only that', async () => {
    await store.insertApiKey(key('a1', 'k1'));
    await store.insertApiKey(key('a2', 'k2'));
    await store.upsertSessions('a1', sessions({ sessionId: 's1', timestamp: T0 }), T0);
    await store.upsertSessions('a2', sessions({ sessionId: 's1', timestamp: T0 }), T0);
    await store.ingestPlayEvents('a1', [play('play_started', 'p1')], T0);
    await store.ingestPlayEvents('a2', [play('play_started', 'p1')], T0);
    const user = (await store.accounts.insertUser({
      email: 'm@x.io',
      passwordHash: 'h',
      role: 'member',
      createdAt: T0,
    }))!;
    await store.accounts.grantApp(user.id, 'a1', T0);
    await store.accounts.grantApp(user.id, 'a2', T0);

    expect(await store.deleteApp('a1')).toBe(true);
    expect(await store.deleteApp('a1')).toBe(false);
    expect(await store.getApp('a1')).toBeNull();
    expect(await store.listApiKeys('a1')).toEqual([]);
    expect(await store.countSessions('a1')).toBe(0);
    expect(await store.getPlaySession('a1', 'p1')).toBeNull();
    expect(await store.qoeRows(MIN, 'a1', 'global', '', T0 - HOUR, T0 + HOUR)).toEqual([]);
    expect(await store.accounts.userApps(user.id)).toEqual(['a2']);
    // The other app keeps its rows.
    expect((await store.listApiKeys('a2')).length).toBe(1);
    expect(await store.countSessions('a2')).toBe(1);
    expect(await store.getPlaySession('a2', 'p1')).not.toBeNull();
    expect((await store.qoeRows(MIN, 'a2', 'global', '', T0 - HOUR, T0 + HOUR)).length).toBe(1);
    // A new app with the same id starts empty.
    await store.ensureApp('a1', 'Again', T0 + 9);
    expect(await store.countSessions('a1')).toBe(0);
  });

  test('API keys: find by hash only while active, rotate, revoke, origins, last use moves forward only', async () => {
    const k = await store.insertApiKey(key('a1', 'k1', { rateLimit: 50, allowedOrigins: ['https://a.example'] }));
    expect(k).toMatchObject({
      appId: 'a1',
      prefix: 'k1',
      scopes: ['ingest', 'read'],
      rateLimit: 50,
      allowedOrigins: ['https://a.example'],
      lastUsedAt: null,
      revokedAt: null,
      expiresAt: null,
    });
    expect(await store.findApiKeyByHash('hash-k1', T0)).toEqual(k);
    expect(await store.getApiKey('k1')).toEqual(k);
    await store.insertApiKey(key('a2', 'k2', { scopes: ['read'], createdAt: T0 + 1 }));
    expect((await store.listApiKeys()).map((x) => x.prefix)).toEqual(['k1', 'k2']);
    expect((await store.listApiKeys('a2')).map((x) => [x.prefix, x.scopes])).toEqual([['k2', ['read']]]);

    const rotated = await store.rotateApiKey('k1', key('a1', 'k1b', { createdAt: T0 + 2 }), T0 + 1000);
    expect(rotated?.prefix).toBe('k1b');
    expect((await store.getApiKey('k1'))?.expiresAt).toBe(T0 + 1000);
    expect(await store.findApiKeyByHash('hash-k1', T0 + 999)).not.toBeNull();
    expect(await store.findApiKeyByHash('hash-k1', T0 + 1000)).toBeNull();
    // A key already rotated cannot be rotated again.
    expect(await store.rotateApiKey('k1', key('a1', 'k1c'), T0 + 2000)).toBeNull();
    expect(await store.getApiKey('k1c')).toBeNull();

    expect((await store.setApiKeyOrigins('k2', ['*']))?.allowedOrigins).toEqual(['*']);
    expect(await store.setApiKeyOrigins('nope', ['*'])).toBeNull();

    await store.markApiKeysUsed([
      [k.id, T0 + 50],
      [k.id, T0 + 70],
    ]);
    await store.markApiKeysUsed([[k.id, T0 + 60]]);
    expect((await store.getApiKey('k1'))?.lastUsedAt).toBe(T0 + 70);

    expect(await store.revokeApiKey('k1b', T0 + 5)).toBe(true);
    expect(await store.revokeApiKey('k1b', T0 + 6)).toBe(false);
    expect(await store.findApiKeyByHash('hash-k1b', T0)).toBeNull();
    expect((await store.getApiKey('k1b'))?.revokedAt).toBe(T0 + 5);
  });

  test('accounts: users with case-insensitive unique emails, patches, grants', async () => {
    const a = store.accounts;
    const u = (await a.insertUser({ email: 'Ann@Example.com', passwordHash: 'h1', role: 'admin', createdAt: T0 }))!;
    expect(u).toEqual({
      id: u.id,
      email: 'Ann@Example.com',
      role: 'admin',
      disabledAt: null,
      createdAt: T0,
      passwordChangedAt: T0,
    });
    expect(
      await a.insertUser({ email: 'ann@example.COM', passwordHash: 'h', role: 'member', createdAt: T0 }),
    ).toBeNull();
    expect((await a.getUserByEmail('ANN@example.com'))?.passwordHash).toBe('h1');
    expect((await a.getUserWithHash(u.id))?.passwordHash).toBe('h1');
    expect(await a.countAdmins()).toBe(1);
    const m = (await a.insertUser({ email: 'max@x.io', passwordHash: 'h2', role: 'member', createdAt: T0 + 1 }))!;
    expect((await a.listUsers()).map((x) => x.email)).toEqual(['Ann@Example.com', 'max@x.io']);
    expect(await a.updateUser(m.id, { role: 'admin', disabledAt: T0 + 5 })).toMatchObject({
      role: 'admin',
      disabledAt: T0 + 5,
    });
    expect(await a.updateUser(m.id, { disabledAt: null, passwordHash: 'h3', passwordChangedAt: T0 + 6 })).toMatchObject(
      {
        disabledAt: null,
        passwordChangedAt: T0 + 6,
      },
    );
    expect((await a.getUserWithHash(m.id))?.passwordHash).toBe('h3');
    expect(await a.updateUser(999_999, { role: 'member' })).toBeNull();

    expect(await a.grantApp(m.id, 'a2', T0)).toBe(true);
    expect(await a.grantApp(m.id, 'a2', T0)).toBe(false);
    expect(await a.grantApp(m.id, 'a1', T0)).toBe(true);
    expect(await a.userApps(m.id)).toEqual(['a1', 'a2']);
    expect(await a.revokeAppGrant(m.id, 'a1')).toBe(true);
    expect(await a.revokeAppGrant(m.id, 'a1')).toBe(false);
    expect(await a.deleteUser(m.id)).toBe(true);
    expect(await a.getUser(m.id)).toBeNull();
    expect(await a.userApps(m.id)).toEqual([]);
  });

  test('accounts: logins rotate refresh tokens once, revocation, guest token revocation, setup token, audit paging', async () => {
    const a = store.accounts;
    const u = (await a.insertUser({ email: 'a@x.io', passwordHash: 'h', role: 'member', createdAt: T0 }))!;
    const login = (id: string) =>
      a.createAuthSession(
        { id, userId: u.id, createdAt: T0, expiresAt: T0 + HOUR, address: '1.2.3.4', userAgent: 'ua' },
        `rt-${id}`,
      );
    await login('s1');
    await login('s2');
    await login('s3');
    expect(await a.getAuthSession('s1')).toEqual({
      id: 's1',
      userId: u.id,
      createdAt: T0,
      expiresAt: T0 + HOUR,
      revokedAt: null,
    });
    expect(await a.rotateRefreshToken('rt-s1', 'rt-s1-2', T0 + 10)).toBe(true);
    expect(await a.rotateRefreshToken('rt-s1', 'rt-s1-3', T0 + 11)).toBe(false);
    expect(await a.findRefreshToken('rt-s1')).toMatchObject({ session: { id: 's1' }, rotatedAt: T0 + 10 });
    expect(await a.findRefreshToken('rt-s1-2')).toMatchObject({ session: { id: 's1' }, rotatedAt: null });
    expect(await a.findRefreshToken('rt-s1-3')).toBeNull();
    expect(await a.revokeAuthSession('s2', T0 + 20)).toBe(true);
    expect(await a.revokeAuthSession('s2', T0 + 21)).toBe(false);
    expect(await a.revokeUserSessions(u.id, T0 + 30, 's1')).toBe(1);
    expect((await a.getAuthSession('s1'))?.revokedAt).toBeNull();
    expect((await a.getAuthSession('s3'))?.revokedAt).toBe(T0 + 30);
    expect(await a.revokeUserSessions(u.id, T0 + 31)).toBe(1);

    // Guest tokens: revoked until they expire; revoking twice is harmless; expired rows go with the next revocation.
    expect(await a.isGuestTokenRevoked('g1')).toBe(false);
    await a.revokeGuestToken('g1', 'video:v1', T0 + HOUR, T0);
    await a.revokeGuestToken('g1', 'video:v1', T0 + HOUR, T0 + 1);
    await a.revokeGuestToken('g2', 'room:r1', T0 + 2 * HOUR, T0 + 2);
    expect(await a.isGuestTokenRevoked('g1')).toBe(true);
    expect(await a.isGuestTokenRevoked('g2')).toBe(true);
    expect(await a.isGuestTokenRevoked('g3')).toBe(false);
    await a.revokeGuestToken('g3', 'room:r1', T0 + 3 * HOUR, T0 + HOUR);
    expect(await a.isGuestTokenRevoked('g1')).toBe(false);
    expect(await a.isGuestTokenRevoked('g2')).toBe(true);

    // Setup: only the newest token works, once; an expired one does not.
    const admin = { email: 'root@x.io', passwordHash: 'h', role: 'admin' as const, createdAt: T0 };
    await a.putSetupToken('old', T0, T0 + HOUR);
    await a.putSetupToken('new', T0, T0 + HOUR);
    expect((await a.completeSetup('old', admin, T0 + 1)).outcome).toBe('invalid_token');
    expect((await a.completeSetup('new', admin, T0 + HOUR)).outcome).toBe('invalid_token');
    expect((await a.completeSetup('new', { ...admin, email: 'A@X.IO' }, T0 + 1)).outcome).toBe('email_taken');
    // Two racing setups with the same token: exactly one admin.
    const race = await Promise.all([
      a.completeSetup('new', admin, T0 + 2),
      a.completeSetup('new', { ...admin, email: 'root2@x.io' }, T0 + 2),
    ]);
    expect(race.map((r) => r.outcome).sort()).toEqual(['already_set_up', 'created']);
    expect(await a.countAdmins()).toBe(1);

    for (let i = 0; i < 5; i++)
      await a.insertAudit({
        at: T0 + i,
        action: `act${i}`,
        actorId: u.id,
        actorEmail: 'a@x.io',
        address: null,
        target: i % 2 ? `t${i}` : null,
        detail: i === 3 ? { n: 3, s: 'x' } : null,
      });
    const page1 = await a.listAudit(3);
    expect(page1.map((e) => e.action)).toEqual(['act4', 'act3', 'act2']);
    expect(page1[1]).toMatchObject({ detail: { n: 3, s: 'x' }, target: 't3', actorId: u.id });
    expect((await a.listAudit(3, page1[2]!.id)).map((e) => e.action)).toEqual(['act1', 'act0']);
  });

  test('sessions: a stored session is replaced only by one at least as new; payload kept as sent', async () => {
    await store.upsertSessions('a1', sessions({ sessionId: 's1', timestamp: T0 + 100, contentId: 'old' }), T0);
    await store.upsertSessions('a1', sessions({ sessionId: 's1', timestamp: T0 + 50, contentId: 'older' }), T0 + 1);
    expect(JSON.parse((await store.getSession('a1', 's1'))!.payload).contentId).toBe('old');
    await store.upsertSessions('a1', sessions({ sessionId: 's1', timestamp: T0 + 100, contentId: 'same' }), T0 + 2);
    const same = (await store.getSession('a1', 's1'))!;
    expect(JSON.parse(same.payload).contentId).toBe('same');
    expect(same).toMatchObject({ appId: 'a1', sessionId: 's1', timestamp: T0 + 100, receivedAt: T0 + 2 });
    // One batch with duplicates: the newest wins, the last among equals.
    await store.upsertSessions(
      'a1',
      sessions(
        { sessionId: 's2', timestamp: T0 + 300, contentId: 'b' },
        { sessionId: 's2', timestamp: T0 + 200, contentId: 'a' },
        { sessionId: 's2', timestamp: T0 + 300, contentId: 'c' },
        { sessionId: 's3', timestamp: T0 + 1 },
      ),
      T0,
    );
    expect(JSON.parse((await store.getSession('a1', 's2'))!.payload).contentId).toBe('c');
    expect(await store.countSessions('a1')).toBe(3);
    expect(await store.countSessions('a2')).toBe(0);
    expect(await store.countSessions()).toBe(3);
    expect(await store.getSession('a2', 's1')).toBeNull();
    await expectRollupsExact(store, 'a1', T0 - HOUR, T0 + 2 * HOUR);
  });

  test('sessions: requests that arrive together share a transaction; a failing one fails alone', async () => {
    const batches: WriteBatchStats[] = [];
    store.onWriteBatch((s) => batches.push(s));
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.upsertSessions('a1', sessions({ sessionId: `g${i}`, timestamp: T0 + i * 1000 }), T0),
    );
    // An app that does not exist: its rows break a foreign key, its request alone is refused.
    const bad = store.upsertSessions('no-such-app', sessions({ sessionId: 'x', timestamp: T0 }), T0);
    const results = await Promise.allSettled([...writes, bad]);
    expect(results.slice(0, 20).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[20]).toMatchObject({ status: 'rejected', reason: { name: 'StoreError' } });
    expect(await store.countSessions('a1')).toBe(20);
    expect(await store.countSessions()).toBe(20);
    expect(batches.reduce((n, b) => n + b.sessions, 0)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...batches.map((b) => b.requests))).toBeGreaterThan(1);
    await expectRollupsExact(store, 'a1', T0 - HOUR, T0 + 2 * HOUR);
  });

  test('big requests arriving together are split into transactions of at most MAX_GROUP_ROWS rows', async () => {
    const batches: WriteBatchStats[] = [];
    store.onWriteBatch((s) => batches.push(s));
    const per = MAX_GROUP_ROWS / 2 + 1; // two of these exceed the cap: each goes with at most one other
    const writes = Array.from({ length: 5 }, (_, r) =>
      store.upsertSessions(
        'a1',
        sessions(...Array.from({ length: per }, (_, i) => ({ sessionId: `big${r}-${i}`, timestamp: T0 + i }))),
        T0,
      ),
    );
    // Larger than the cap alone: still written, in a transaction of its own.
    const huge = store.upsertSessions(
      'a1',
      sessions(...Array.from({ length: MAX_GROUP_ROWS + 5 }, (_, i) => ({ sessionId: `huge${i}`, timestamp: T0 + i }))),
      T0,
    );
    await Promise.all([...writes, huge]);
    expect(await store.countSessions('a1')).toBe(5 * per + MAX_GROUP_ROWS + 5);
    expect(batches.reduce((n, b) => n + b.sessions, 0)).toBe(5 * per + MAX_GROUP_ROWS + 5);
    expect(batches.filter((b) => b.sessions > MAX_GROUP_ROWS)).toEqual([
      expect.objectContaining({ sessions: MAX_GROUP_ROWS + 5, requests: 1 }),
    ]);
    await expectRollupsExact(store, 'a1', T0 - HOUR, T0 + 2 * HOUR);
  });

  test('QoE rollups stay equal to a recomputation through inserts, replacements and ignored older summaries', async () => {
    const make = (round: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        sessionId: `q${i}`,
        timestamp: T0 + i * 37_000 + round * 5,
        startupTimeMs: 100 + ((i * 13 + round * 7) % 900),
        rebufferTimeMs: i % 3 === 0 ? null : i * 10 + round,
        errorCount: (i + round) % 5 === 0 ? 1 : 0,
        contentId: `c${(i + round) % 3}`,
        country: round === 1 && i % 2 ? 'FR' : 'DE',
        deviceModel: i % 4 === 0 ? 'Pixel 8' : 'iPhone',
        meanVideoFormatBitrate: i % 2 ? 2_000_000 + round : null,
      }));
    await store.upsertSessions('a1', sessions(...make(0, 120)), T0);
    await store.upsertSessions('a1', sessions(...make(1, 60)), T0); // replaces the first 60
    await store.upsertSessions('a1', sessions(...make(0, 30).map((s) => ({ ...s, timestamp: s.timestamp - 1 }))), T0);
    await store.upsertSessions('a2', sessions(...make(2, 10)), T0);
    expect(await store.countSessions('a1')).toBe(120);
    expect(await expectRollupsExact(store, 'a1', T0 - HOUR, T0 + 3 * HOUR)).toBeGreaterThan(100);
    await expectRollupsExact(store, 'a2', T0 - HOUR, T0 + 3 * HOUR);
    // One value, and the histogram: 120 startups counted once each.
    const global = await store.qoeRows(HOUR, 'a1', 'global', '', T0, T0 + 2 * HOUR);
    expect(global.reduce((n, r) => n + r.sessions, 0)).toBe(120);
    expect(global.reduce((n, r) => n + r.startupHist.reduce((a, b) => a + b, 0), 0)).toBe(120);
    const fr = await store.qoeRows(MIN, 'a1', 'country', 'FR', T0 - HOUR, T0 + 3 * HOUR);
    expect(fr.reduce((n, r) => n + r.sessions, 0)).toBe(30);
    expect(fr.every((r) => r.value === 'FR')).toBe(true);
    // Replacing a session so that a bucket empties removes the row.
    const [one] = make(0, 1);
    await store.upsertSessions(
      'a2',
      sessions({ ...one!, sessionId: 'solo', timestamp: T0 + 50 * HOUR, contentId: 'z' }),
      T0,
    );
    expect((await store.qoeRows(MIN, 'a2', 'contentId', 'z', T0, T0 + 60 * HOUR)).length).toBe(1);
    await store.upsertSessions(
      'a2',
      sessions({ ...one!, sessionId: 'solo', timestamp: T0 + 51 * HOUR, contentId: 'y' }),
      T0,
    );
    expect(await store.qoeRows(MIN, 'a2', 'contentId', 'z', T0, T0 + 60 * HOUR)).toEqual([]);
    expect((await store.qoeRows(MIN, 'a2', 'contentId', 'y', T0, T0 + 60 * HOUR)).length).toBe(1);
  });

  test('sessions page: filters, newest first, keyset paging', async () => {
    await store.upsertSessions(
      'a1',
      sessions(
        ...Array.from({ length: 25 }, (_, i) => ({
          sessionId: `${i % 2 ? 'ab' : 'cd'}-${i}`,
          timestamp: T0 + (i % 20) * 1000, // five timestamps shared by two sessions
          contentId: i % 3 ? 'movie' : 'show',
          contentTitle: i % 3 ? 'Big 50% Sale_Movie' : 'Evening Show',
          deviceModel: i % 4 ? 'iPhone 15' : 'Pixel 8',
          errorCount: i % 5 === 0 ? 2 : 0,
        })),
      ),
      T0,
    );
    const all = [];
    let after: { timestamp: number; id: number } | undefined;
    for (;;) {
      const page = await store.listSessions({ appId: 'a1', limit: 7, after });
      all.push(...page.sessions);
      if (!page.hasMore) break;
      const last = page.sessions.at(-1)!;
      after = { timestamp: last.timestamp, id: last.id };
    }
    expect(all.length).toBe(25);
    expect(new Set(all.map((s) => s.sessionId)).size).toBe(25);
    for (let i = 1; i < all.length; i++) {
      const [p, c] = [all[i - 1]!, all[i]!];
      expect(p.timestamp > c.timestamp || (p.timestamp === c.timestamp && p.id > c.id)).toBe(true);
    }
    const ids = async (q: Record<string, unknown>) =>
      (await store.listSessions({ appId: 'a1', limit: 100, ...q })).sessions.map((s) => s.sessionId).sort();
    const expected = (f: (i: number) => boolean) =>
      Array.from({ length: 25 }, (_, i) => i)
        .filter(f)
        .map((i) => `${i % 2 ? 'ab' : 'cd'}-${i}`)
        .sort();
    expect(await ids({ errorsOnly: true })).toEqual(expected((i) => i % 5 === 0));
    expect(await ids({ contentId: 'show' })).toEqual(expected((i) => i % 3 === 0));
    expect(await ids({ content: '50% sale' })).toEqual(expected((i) => i % 3 !== 0));
    expect(await ids({ content: '%' })).toEqual(expected((i) => i % 3 !== 0));
    expect(await ids({ device: 'pixel' })).toEqual(expected((i) => i % 4 === 0));
    expect(await ids({ sessionIdPrefix: 'ab-1' })).toEqual(expected((i) => i % 2 === 1 && String(i).startsWith('1')));
    expect(await ids({ from: T0 + 5000, to: T0 + 7000 })).toEqual(expected((i) => i % 20 >= 5 && i % 20 < 7));
    expect(await ids({ errorsOnly: true, device: 'iphone' })).toEqual(expected((i) => i % 5 === 0 && i % 4 !== 0));
    const first = (await store.listSessions({ appId: 'a1', limit: 1, contentId: 'show' })).sessions[0]!;
    expect(first).toMatchObject({ contentTitle: 'Evening Show', sessionDurationMs: 60_000, startupTimeMs: 850 });
    expect((await store.listSessions({ appId: 'a2', limit: 10 })).sessions).toEqual([]);
  });

  test('play events: idempotent per (app, id, event), either order, stale close, dirty minutes', async () => {
    expect(await store.ingestPlayEvents('a1', [play('play_started', 'p1'), play('play_started', 'p2')], T0)).toEqual([
      'opened',
      'opened',
    ]);
    expect(await store.ingestPlayEvents('a1', [play('play_started', 'p1')], T0)).toEqual(['duplicate']);
    // Same id in another app is another session.
    expect(await store.ingestPlayEvents('a2', [play('play_started', 'p1')], T0)).toEqual(['opened']);
    expect(await store.ingestPlayEvents('a1', [play('play_closed', 'p1')], T0 + 1)).toEqual(['closed']);
    expect(await store.ingestPlayEvents('a1', [play('play_closed', 'p1')], T0 + 2)).toEqual(['duplicate']);
    // Close before start: closed, and the late start fills in what it knows without reopening.
    expect(await store.ingestPlayEvents('a1', [play('play_closed', 'p3', { openedAt: T0 + 3 * MIN })], T0)).toEqual([
      'closed',
    ]);
    expect(await store.ingestPlayEvents('a1', [play('play_started', 'p3', { bytes: 7 })], T0)).toEqual(['closed']);

    const p1 = (await store.getPlaySession('a1', 'p1'))!;
    expect(p1).toMatchObject({
      appId: 'a1',
      id: 'p1',
      channel: 'news',
      openedAt: T0 + MIN,
      closedAt: T0 + 5 * MIN,
      closeBytes: 5_000_000,
      reason: 'client',
      receivedAt: T0 + 1,
    });
    expect(JSON.parse(p1.startEvent!)).toEqual({ event: 'play_started', id: 'p1' });
    expect(await store.getPlaySession('a1', 'p3')).toMatchObject({ startBytes: 7, closedAt: T0 + 5 * MIN });

    const open = (await store.listOpenPlaySessions()).map((p) => `${p.appId}/${p.id}`).sort();
    expect(open).toEqual(['a1/p2', 'a2/p1']);
    // The live counts of several instances: every open play once, per app and dimension values.
    const groups = (await store.countOpenPlayGroups()).sort((x, y) => x.appId.localeCompare(y.appId));
    expect(groups.map((g) => [g.appId, g.count])).toEqual([
      ['a1', 1],
      ['a2', 1],
    ]);
    const p2 = await store.getPlaySession('a1', 'p2');
    expect(groups[0]).toEqual({
      appId: 'a1',
      server: p2!.server,
      channel: p2!.channel,
      country: p2!.country,
      protocol: p2!.protocol,
      device: p2!.device,
      count: 1,
    });
    expect((await store.openPlaySessionsBefore(T0 + MIN)).length).toBe(0);
    expect((await store.openPlaySessionsBefore(T0 + MIN + 1)).length).toBe(2);
    expect((await store.closedPlaySessionsOverlapping(T0 + 4 * MIN, T0 + 10 * MIN)).map((p) => p.id).sort()).toEqual([
      'p1',
      'p3',
    ]);
    expect(await store.closedPlaySessionsOverlapping(T0 + 6 * MIN, T0 + 10 * MIN)).toEqual([]);

    expect(
      await store.closeStalePlaySessions(
        [
          { appId: 'a1', id: 'p2' },
          { appId: 'a1', id: 'p1' },
        ],
        T0 + HOUR,
      ),
    ).toEqual([{ appId: 'a1', id: 'p2' }]);
    expect(await store.getPlaySession('a1', 'p2')).toMatchObject({ reason: 'stale', closedAt: T0 + HOUR });
    // A real close after m3w's stale close replaces the guess.
    expect(await store.ingestPlayEvents('a1', [play('play_closed', 'p2', { closedAt: T0 + 9 * MIN })], T0)).toEqual([
      'closed',
    ]);
    expect(await store.getPlaySession('a1', 'p2')).toMatchObject({ reason: 'client', closedAt: T0 + 9 * MIN });

    // Every event above was for minutes long past: the earliest is marked for recomputation, once.
    expect(await store.takeDirtyStreamMinute(Date.now())).toBe(T0 + MIN);
    await store.settleDirtyStreamMinutes();
    expect(await store.takeDirtyStreamMinute(Date.now())).toBeNull();
  });

  test('play events in bulk: many ids per request, mixed with duplicates, late starts and repeated ids', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `b${i}`);
    const starts = ids.map((id, i) => play('play_started', id, { openedAt: T0 + i * 1000 }));
    // Two requests arriving together (one group), then closes for most, a few closes of unknown ids.
    const [first, second] = await Promise.all([
      store.ingestPlayEvents('a1', starts.slice(0, 30), T0),
      store.ingestPlayEvents('a1', starts.slice(30), T0),
    ]);
    expect([...first, ...second]).toEqual(ids.map(() => 'opened'));
    const closes = [
      ...ids.slice(0, 50).map((id, i) => play('play_closed', id, { closedAt: T0 + HOUR + i })),
      play('play_closed', 'late-1', { openedAt: T0 + 2 * MIN, closedAt: T0 + 3 * MIN }),
      play('play_started', 'b55'), // a duplicate start
      play('play_started', 'fresh'),
    ];
    expect(await store.ingestPlayEvents('a1', closes, T0 + 1)).toEqual([
      ...ids.slice(0, 50).map(() => 'closed'),
      'closed',
      'duplicate',
      'opened',
    ]);
    // The late start of a close-first session, and one request naming an id twice (start and close, in order).
    expect(
      await store.ingestPlayEvents(
        'a1',
        [
          play('play_started', 'late-1', { bytes: 9 }),
          play('play_started', 'twice'),
          play('play_closed', 'twice', { closedAt: T0 + 2 * HOUR }),
          play('play_closed', 'b0'),
        ],
        T0 + 2,
      ),
    ).toEqual(['closed', 'opened', 'closed', 'duplicate']);
    expect(await store.getPlaySession('a1', 'b7')).toMatchObject({
      openedAt: T0 + 7000,
      closedAt: T0 + HOUR + 7,
      reason: 'client',
      receivedAt: T0 + 1,
    });
    expect(await store.getPlaySession('a1', 'late-1')).toMatchObject({ startBytes: 9, closedAt: T0 + 3 * MIN });
    expect(await store.getPlaySession('a1', 'twice')).toMatchObject({ closedAt: T0 + 2 * HOUR });
    const open = (await store.listOpenPlaySessions()).map((p) => p.id).sort();
    expect(open).toEqual([...ids.slice(50), 'fresh'].sort());
    expect(await store.takeDirtyStreamMinute(Date.now())).toBe(T0);
  });

  test('stream rollups: replace a window, series, rows at a bucket, values by watch time, apps', async () => {
    const row = (appId: string, dimension: string, value: string, t: number, watch: number): StreamRollupRow => ({
      appId,
      dimension,
      value,
      t,
      sessionsStarted: 2,
      sessionsClosed: 1,
      totalBytes: 3_000_000_000_000,
      watchTimeSeconds: watch,
      uniqueUsers: 2,
      peakConcurrent: 3,
    });
    await store.replaceStreamRollups(MIN, T0, T0 + 3 * MIN, [
      row('a1', 'global', '', T0, 10),
      row('a1', 'global', '', T0 + MIN, 20.5),
      row('a1', 'channel', 'news', T0, 5),
      row('a1', 'channel', 'sport', T0, 50),
      row('a2', 'global', '', T0 + 2 * MIN, 1),
    ]);
    expect(await store.streamSeries(MIN, 'a1', 'global', '', T0, T0 + 3 * MIN)).toEqual([
      row('a1', 'global', '', T0, 10),
      row('a1', 'global', '', T0 + MIN, 20.5),
    ]);
    expect((await store.streamRowsAt(MIN, 'a1', 'channel', T0)).map((r) => r.value).sort()).toEqual(['news', 'sport']);
    expect(await store.streamValues('a1', 'channel', T0, T0 + HOUR)).toEqual(['sport', 'news']);
    expect((await store.streamApps(T0, T0 + 3 * MIN)).sort()).toEqual(['a1', 'a2']);
    // Replacing the window drops what the new rows do not have.
    await store.replaceStreamRollups(MIN, T0, T0 + MIN, [row('a1', 'global', '', T0, 99)]);
    expect(
      (await store.streamSeries(MIN, 'a1', 'global', '', T0, T0 + 3 * MIN)).map((r) => r.watchTimeSeconds),
    ).toEqual([99, 20.5]);
    expect(await store.streamRowsAt(MIN, 'a1', 'channel', T0)).toEqual([]);
    await store.replaceStreamRollups(HOUR, T0, T0 + HOUR, [row('a1', 'channel', 'film', T0, 7)]);
    expect(await store.streamSeries(HOUR, 'a1', 'channel', 'film', T0, T0 + HOUR)).toEqual([
      row('a1', 'channel', 'film', T0, 7),
    ]);
    expect(await store.streamSeries(MIN, 'a1', 'channel', 'film', T0, T0 + HOUR)).toEqual([]);
  });

  test('moment watch rows: every watched series in one read, equal to the per-series reads', async () => {
    const wf = T0; // baseline window start
    const from = T0 + 30 * MIN;
    const to = T0 + 32 * MIN;
    const traffic = to - 3 * HOUR; // T0 - 148 minutes
    const history = T0 - 6 * HOUR;
    const row = (appId: string, dimension: string, value: string, t: number, watch: number): StreamRollupRow => ({
      appId,
      dimension,
      value,
      t,
      sessionsStarted: 1,
      sessionsClosed: 0,
      totalBytes: 10,
      watchTimeSeconds: watch,
      uniqueUsers: 1,
      peakConcurrent: 2,
    });
    await store.replaceStreamRollups(MIN, T0 - HOUR, to, [
      row('a1', 'global', '', T0 - MIN, 1), // before the window
      row('a1', 'global', '', T0 + 5 * MIN, 3),
      row('a1', 'global', '', T0 + 31 * MIN, 4),
      row('a1', 'channel', 'sport', T0 + 10 * MIN, 1),
      row('a1', 'channel', 'sport', T0 + 30 * MIN, 50), // busiest in [from, to)
      row('a1', 'channel', 'news', T0 + 31 * MIN, 5),
      row('a1', 'channel', 'arts', T0 + 31 * MIN, 5), // ties with news: by value
      row('a1', 'channel', 'tiny', T0 + 31 * MIN, 1), // beyond maxValues
      row('a1', 'channel', 'film', T0 + 10 * MIN, 90), // not seen in [from, to)
      row('a2', 'global', '', T0 + MIN, 1),
      row('a2', 'channel', 'x', T0 + 31 * MIN, 1),
    ]);
    // QoE: a1 is small (under minVolume sessions a minute since `traffic`): its global series reaches back to
    // `history`; a2 is not: from `traffic` only. Contents: those with a minute of minVolume sessions in [from, to).
    const at = (t: number, n: number, over: Record<string, unknown>) =>
      Array.from({ length: n }, (_, i) => ({ sessionId: `${t}-${i}-${JSON.stringify(over)}`, timestamp: t, ...over }));
    await store.upsertSessions(
      'a1',
      sessions(
        ...at(T0 - 5 * HOUR, 1, { contentId: 'older' }),
        ...at(T0 - 2 * HOUR, 1, { contentId: 'old' }),
        ...at(T0 + 5 * MIN, 3, { contentId: 'c1' }),
        ...at(T0 + 31 * MIN, 3, { contentId: 'c1', startupTimeMs: 1234 }),
        ...at(T0 + 30 * MIN, 2, { contentId: 'c0' }),
        ...at(T0 + 31 * MIN, 1, { contentId: 'c2' }), // below minVolume
        ...at(T0 + 33 * MIN, 5, { contentId: 'c3' }), // after `to`
      ),
      T0,
    );
    await store.upsertSessions(
      'a2',
      sessions(
        ...at(T0 - 4 * HOUR, 9, { contentId: 'z' }), // before `traffic`: not read
        ...at(T0 + 30 * MIN, 2, { contentId: 'z' }),
        ...at(T0 + 31 * MIN, 4, { contentId: 'y' }), // 6 sessions over 2 minutes: 3 a minute
      ),
      T0,
    );
    // Rooms: four with minutes in the window, the first three by id are read (maxValues); minutes outside it are not.
    await store.videos.createVideo({
      id: 'v1',
      appId: 'a1',
      title: 't',
      status: 'uploading',
      uploadLength: null,
      createdAt: T0,
    });
    for (const id of ['r3', 'r1', 'r4', 'r2'])
      await store.rooms.createRoom({
        id,
        appId: 'a1',
        name: id,
        videoId: 'v1',
        ownerUserId: 7,
        locked: false,
        createdAt: T0,
      });
    const minute = (roomId: string, t: number, sentiment: number | null) => ({
      roomId,
      appId: 'a1',
      minute: t,
      viewers: 3,
      messages: 4,
      uniqueChatters: 2,
      topEmotes: [{ emote: ':hype:', count: 2 }],
      sentiment,
      sentimentN: sentiment === null ? 0 : 2,
    });
    await store.rooms.addRoomMinute(minute('r1', T0 - MIN, 1));
    await store.rooms.addRoomMinute(minute('r1', T0 + 31 * MIN, -0.5));
    await store.rooms.addRoomMinute(minute('r1', T0 + 2 * MIN, null));
    await store.rooms.addRoomMinute(minute('r2', T0 + 3 * MIN, 0.25));
    await store.rooms.addRoomMinute(minute('r3', T0 + 3 * MIN, 1));
    await store.rooms.addRoomMinute(minute('r3', to, 1));
    await store.rooms.addRoomMinute(minute('r4', T0 + 4 * MIN, 1));

    const read = await store.momentWatchRows({
      windowFrom: wf,
      from,
      to,
      trafficFrom: traffic,
      qoeHistoryFrom: history,
      maxValues: 3,
      minVolume: 2,
    });
    const series = (app: string, dim: string, value: string) => store.streamSeries(MIN, app, dim, value, wf, to);
    expect(read.stream).toEqual([
      ...(await series('a1', 'global', '')),
      ...(await series('a1', 'channel', 'sport')),
      ...(await series('a1', 'channel', 'arts')),
      ...(await series('a1', 'channel', 'news')),
      ...(await series('a2', 'global', '')),
      ...(await series('a2', 'channel', 'x')),
    ]);
    expect(read.stream.map((r) => r.t).filter((t) => t < wf || t >= to)).toEqual([]);
    expect(read.stream.length).toBe(8);
    const qoe = (app: string, dim: string, value: string, since: number) =>
      store.qoeRows(MIN, app, dim, value, since, to);
    const expectedQoe = [
      ...(await qoe('a1', 'global', '', history)),
      ...(await qoe('a1', 'contentId', 'c0', wf)), // its qualifying minute comes first
      ...(await qoe('a1', 'contentId', 'c1', wf)),
      ...(await qoe('a2', 'global', '', traffic)),
      ...(await qoe('a2', 'contentId', 'z', wf)), // its minute of minVolume sessions comes first
      ...(await qoe('a2', 'contentId', 'y', wf)),
    ];
    expect(read.qoe).toEqual(expectedQoe);
    expect(read.qoe.filter((r) => r.dimension === 'global' && r.appId === 'a2').map((r) => r.t)).toEqual([
      T0 + 30 * MIN,
      T0 + 31 * MIN,
    ]);
    expect(read.qoe.filter((r) => r.dimension === 'global' && r.appId === 'a1').map((r) => r.t)).toEqual([
      T0 - 5 * HOUR,
      T0 - 2 * HOUR,
      T0 + 5 * MIN,
      T0 + 30 * MIN,
      T0 + 31 * MIN,
    ]);
    expect(read.qoe.find((r) => r.value === 'c1' && r.t === T0 + 31 * MIN)?.startupHist.reduce((a, b) => a + b)).toBe(
      3,
    );
    expect(read.rooms).toEqual([
      ...(await store.rooms.roomMinutes('r1', wf, to)),
      ...(await store.rooms.roomMinutes('r2', wf, to)),
      ...(await store.rooms.roomMinutes('r3', wf, to)),
    ]);
    expect(read.rooms.map((r) => `${r.roomId}@${(r.minute - T0) / MIN}`)).toEqual(['r1@2', 'r1@31', 'r2@3', 'r3@3']);
    // Nothing in the window: empty, not an error.
    expect(
      await store.momentWatchRows({
        windowFrom: T0 + 100 * HOUR,
        from: T0 + 101 * HOUR,
        to: T0 + 102 * HOUR,
        trafficFrom: T0 + 99 * HOUR,
        qoeHistoryFrom: T0 + 90 * HOUR,
        maxValues: 3,
        minVolume: 2,
      }),
    ).toEqual({ stream: [], qoe: [], rooms: [] });
  });

  test('engine state and moments', async () => {
    expect(await store.getEngineState('rollup.last')).toBeNull();
    await store.setEngineState('rollup.last', T0);
    await store.setEngineState('rollup.last', T0 + MIN);
    expect(await store.getEngineState('rollup.last')).toBe(T0 + MIN);

    const m = (over: Partial<StoredMoment>): StoredMoment => ({
      id: 0,
      appId: 'a1',
      kind: 'spike',
      metric: 'viewers',
      dimension: 'global',
      value: '',
      startedAt: T0,
      endedAt: T0 + MIN,
      peakValue: 10.5,
      baseline: 2,
      zScore: 4.25,
      threshold: 3,
      ...over,
    });
    const id1 = await store.saveMoment(m({}));
    const id2 = await store.saveMoment(
      m({ appId: 'a2', kind: 'drop', startedAt: T0 + 2 * MIN, endedAt: T0 + 3 * MIN }),
    );
    const id3 = await store.saveMoment(
      m({ metric: 'errors', dimension: 'channel', value: 'news', startedAt: T0 + 4 * MIN, endedAt: T0 + 5 * MIN }),
    );
    expect(new Set([id1, id2, id3]).size).toBe(3);
    expect(await store.saveMoment(m({ id: id1, endedAt: T0 + 2 * MIN, peakValue: 20 }))).toBe(id1);
    const all = await store.listMoments({ from: T0, to: T0 + HOUR, limit: 10 });
    expect(all.map((x) => x.id)).toEqual([id3, id2, id1]);
    expect(all[2]).toEqual(m({ id: id1, endedAt: T0 + 2 * MIN, peakValue: 20 }));
    expect((await store.listMoments({ from: T0, to: T0 + HOUR, limit: 10, apps: ['a2'] })).map((x) => x.id)).toEqual([
      id2,
    ]);
    expect(await store.listMoments({ from: T0, to: T0 + HOUR, limit: 10, apps: [] })).toEqual([]);
    expect(
      (
        await store.listMoments({
          from: T0,
          to: T0 + HOUR,
          limit: 10,
          metric: 'errors',
          dimension: 'channel',
          value: 'news',
        })
      ).map((x) => x.id),
    ).toEqual([id3]);
    expect((await store.listMoments({ from: T0 + 3 * MIN, to: T0 + HOUR, limit: 10 })).map((x) => x.id)).toEqual([id3]);
    expect((await store.listMoments({ from: T0, to: T0 + HOUR, limit: 1 })).map((x) => x.id)).toEqual([id3]);
  });

  test('a session re-sent with its start on another day replaces the stored one: one row, exact rollups', async () => {
    // On Postgres each day is a partition of its own (maintainPartitions), so the re-send moves the row.
    const made = await store.maintainPartitions(T0 - 2 * DAY);
    expect(made > 0).toBe(adapter === 'postgres');
    const iso = (ms: number) => new Date(ms).toISOString();
    const send = (id: string, start: number, timestamp: number, over: Record<string, unknown> = {}) =>
      store.upsertSessions(
        'a1',
        sessions({ sessionId: id, sessionStartDateIso: iso(start), timestamp, contentId: 'c', ...over }),
        timestamp,
      );
    await send('moves', T0 - DAY - HOUR, T0 - DAY);
    await send('stays', T0 - DAY, T0 - DAY + MIN);
    await send('moves', T0 + HOUR, T0 + 2 * HOUR, { startupTimeMs: 1234, country: 'FR' });
    // An older summary with yet another start day is ignored, as any older summary is.
    await send('moves', T0 - 2 * DAY, T0 - DAY + HOUR);
    // Back to the first day, newer: moves again, in a batch with another session.
    await store.upsertSessions(
      'a1',
      sessions(
        { sessionId: 'moves', sessionStartDateIso: iso(T0 - DAY - 2 * HOUR), timestamp: T0 + 3 * HOUR },
        { sessionId: 'new', sessionStartDateIso: iso(T0), timestamp: T0 + 3 * HOUR },
      ),
      T0 + 3 * HOUR,
    );
    expect(await store.countSessions('a1')).toBe(3);
    const page = await store.listSessions({ appId: 'a1', limit: 10 });
    expect(page.sessions.map((x) => x.sessionId).sort()).toEqual(['moves', 'new', 'stays']);
    expect((await store.getSession('a1', 'moves'))!.timestamp).toBe(T0 + 3 * HOUR);
    expect(await expectRollupsExact(store, 'a1', T0 - 3 * DAY, T0 + DAY)).toBeGreaterThan(0);
    const global = await store.qoeRows(HOUR, 'a1', 'global', '', T0 - 3 * DAY, T0 + DAY);
    expect(global.reduce((n, r) => n + r.sessions, 0)).toBe(3);
  });

  test('retention over partitioned days: whole expired days, the partial oldest day and rows outside every partition', async () => {
    // Days T0-5d … T0+3d get partitions on Postgres; sessions a week before that fall outside every partition.
    await store.maintainPartitions(T0 - 5 * DAY);
    const iso = (ms: number) => new Date(ms).toISOString();
    const items: Array<Record<string, unknown>> = [];
    for (let d = -12; d <= 1; d++)
      for (const h of [1, 23])
        items.push({
          sessionId: `d${d}h${h}`,
          sessionStartDateIso: iso(T0 + d * DAY + h * HOUR),
          timestamp: T0 + d * DAY + h * HOUR + 30 * MIN,
        });
    // Started on an old day but still reporting at the cut-off: its day must not go whole.
    items.push({ sessionId: 'long', sessionStartDateIso: iso(T0 - 4 * DAY), timestamp: T0 });
    await store.upsertSessions('a1', sessions(...items), T0);
    const minuteRow = (t: number): StreamRollupRow => ({
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
      await store.replaceStreamRollups(MIN, T0 + d * DAY, T0 + d * DAY + MIN, [minuteRow(T0 + d * DAY)]);
    // Mid-day cut-offs: the day they fall in is partly expired.
    const cutoffs = {
      raw: T0 - 3 * DAY + 12 * HOUR,
      minuteRollups: T0 - 2 * DAY + 12 * HOUR,
      hourlyRollups: T0 - 40 * DAY,
    };
    const counted = await store.countExpired(cutoffs);
    // Sessions of days -12 … -4 (2 each) and day -3's first one; minute rows: days -6 … -3 (stream, one each) and
    // the QoE minutes of the expired sessions up to the minute cut-off.
    expect(counted.sessions).toBe(9 * 2 + 1);
    const total = { sessions: 0, playSessions: 0, minuteRows: 0, hourRows: 0, moments: 0 };
    for (;;) {
      const d = await store.deleteExpired(cutoffs, 3);
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += d[k];
      if (Object.values(d).every((n) => n === 0)) break;
    }
    expect(total).toEqual(counted);
    expect(await store.countExpired(cutoffs)).toEqual({
      sessions: 0,
      playSessions: 0,
      minuteRows: 0,
      hourRows: 0,
      moments: 0,
    });
    expect(await store.countSessions('a1')).toBe(items.length - counted.sessions);
    expect(await store.getSession('a1', 'long')).not.toBeNull();
    expect(await store.getSession('a1', 'd-3h23')).not.toBeNull();
    expect(await store.getSession('a1', 'd-3h1')).toBeNull();
    expect(await expectRollupsExact(store, 'a1', cutoffs.minuteRollups, T0 + 2 * DAY)).toBeGreaterThan(0);
  });

  test('retention counts and deletes expired rows in batches', async () => {
    await store.upsertSessions(
      'a1',
      sessions(...Array.from({ length: 12 }, (_, i) => ({ sessionId: `r${i}`, timestamp: T0 + i * HOUR }))),
      T0,
    );
    await store.ingestPlayEvents('a1', [play('play_closed', 'old'), play('play_started', 'open')], T0);
    await store.replaceStreamRollups(MIN, T0, T0 + 2 * MIN, [
      {
        appId: 'a1',
        dimension: 'global',
        value: '',
        t: T0,
        sessionsStarted: 1,
        sessionsClosed: 0,
        totalBytes: 1,
        watchTimeSeconds: 1,
        uniqueUsers: 1,
        peakConcurrent: 1,
      },
    ]);
    await store.saveMoment({
      id: 0,
      appId: 'a1',
      kind: 'spike',
      metric: 'm',
      dimension: 'global',
      value: '',
      startedAt: T0,
      endedAt: T0 + MIN,
      peakValue: 1,
      baseline: 0,
      zScore: 9,
      threshold: 3,
    });
    const cutoffs = { raw: T0 + 6 * HOUR, minuteRollups: T0 + 3 * HOUR, hourlyRollups: T0 + 2 * HOUR };
    const counted = await store.countExpired(cutoffs);
    // Sessions r0..r5; the closed play; stream minute 1 + QoE minutes (global and contentId-less rows of r0..r2:
    // one global row per session hour), QoE hours of r0, r1 (global); the moment.
    expect(counted).toEqual({ sessions: 6, playSessions: 1, minuteRows: 1 + 3, hourRows: 2, moments: 1 });
    const total = { sessions: 0, playSessions: 0, minuteRows: 0, hourRows: 0, moments: 0 };
    for (;;) {
      const d = await store.deleteExpired(cutoffs, 2);
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += d[k];
      expect(d.sessions).toBeLessThanOrEqual(2);
      if (Object.values(d).every((n) => n === 0)) break;
    }
    expect(total).toEqual(counted);
    expect(await store.countExpired(cutoffs)).toEqual({
      sessions: 0,
      playSessions: 0,
      minuteRows: 0,
      hourRows: 0,
      moments: 0,
    });
    expect(await store.countSessions('a1')).toBe(6);
    expect(await store.getPlaySession('a1', 'open')).not.toBeNull();
    await store.releaseFreePages(10);
  });
});
