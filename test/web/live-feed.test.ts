// The live feed through a real m3w server: real API keys, real SQLite, real ingestion, real WebSocket clients.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { openSocket as openTestSocket, type TestSocket } from '../helpers/ws-client.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { playClosed, playStarted, postWebhook } from '../engine/webhook-helpers.ts';

// Every socket a test opens is closed after it, and the server is seen to count none, so no test's figures
// include another's leftovers.
const opened: TestSocket[] = [];
async function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const c = await openTestSocket(url, headers);
  opened.push(c);
  return c;
}
async function liveHealth(base = s.url): Promise<{ connections: number; topics: Record<string, number> }> {
  return (await (await fetch(`${base}/ws/live/health`)).json()) as {
    connections: number;
    topics: Record<string, number>;
  };
}
afterEach(async () => {
  for (const c of opened.splice(0)) {
    c.close();
    await c.closed;
  }
  if (s) await expect.poll(async () => (await liveHealth()).connections, { timeout: 5000 }).toBe(0);
});

let s: TestServer;
let ws: string;
let readKey: string;
let otherReadKey: string;

beforeAll(async () => {
  // No rate limit in reach: the burst below sends as many sessions as the machine takes in 1.5 s.
  s = await startTestServer({ liveIntervalMs: 250, rateLimit: { requests: 1_000_000, windowSec: 60 } });
  ws = s.url.replace('http', 'ws');
  const store = s.server.store;
  readKey = (await createApiKey(store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
  await store.ensureApp('other', 'Other app', Date.now());
  otherReadKey = (await createApiKey(store, { appId: 'other', name: 'other reader', scopes: ['read'] })).key;
});
afterAll(() => s?.close());

describe('/ws/live authentication', () => {
  test('without credentials the connection is closed with 4401 and a reason', async () => {
    const c = await openSocket(`${ws}/ws/live`);
    const closed = await c.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/authentication required/);
    expect(c.messages).toEqual([]);
  });

  test('an ingest-only key is not a reader: 4401', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': s.apiKey });
    expect((await c.closed).code).toBe(4401);
  });

  test('a read key gets the welcome message', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    const welcome = await c.next((m) => m.type === 'welcome');
    expect(welcome).toMatchObject({ intervalMs: 250, topics: expect.arrayContaining(['overview', 'moments']) });
    c.close();
  });

  test("subscribing to another app's topic is refused with 4403; the own app's topic is served", async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': otherReadKey });
    c.send({ type: 'subscribe', topic: 'overview:other' });
    await c.next((m) => m.type === 'update' && m.topic === 'overview:other');
    c.send({ type: 'subscribe', topic: 'overview:default' });
    const closed = await c.closed;
    expect(closed).toEqual({ code: 4403, reason: 'not allowed to subscribe to overview:default' });
    expect(c.messages.some((m) => m.topic === 'overview:default' && m.type === 'update')).toBe(false);
  });

  test('people: a ws ticket or the session cookie; a member sees only the apps granted', async () => {
    const admin = (await setupAdmin(s)).accessToken;
    const member = (await createUser(s, admin, 'viewer@example.com', 'member', ['other'])).accessToken;
    const ticket = (await call(s, 'POST', '/api/v1/ws-ticket', { token: member })).json!.ticket as string;
    const c = await openSocket(`${ws}/ws/live?ticket=${encodeURIComponent(ticket)}`);
    await c.next((m) => m.type === 'welcome');
    c.send({ type: 'subscribe', topic: 'overview:other' });
    await c.next((m) => m.type === 'update' && m.topic === 'overview:other');
    c.send({ type: 'subscribe', topic: 'overview:default' });
    expect((await c.closed).code).toBe(4403);

    // A browser's way in: the access cookie set by a cookie sign-in.
    const signIn = await fetch(`${s.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'viewer@example.com',
        password: 'pw-viewer@example.com-0123456789',
        session: 'cookie',
      }),
    });
    expect(signIn.status).toBe(200);
    const access = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('m3w_access='))!
      .split(';')[0]!;
    const browserLike = await openSocket(`${ws}/ws/live`, { cookie: access });
    await browserLike.next((m) => m.type === 'welcome');
    browserLike.close();
    const forged = await openSocket(`${ws}/ws/live`, { cookie: 'm3w_access=not.a.token' });
    expect((await forged.closed).code).toBe(4401);
    const badTicket = await openSocket(`${ws}/ws/live?ticket=${encodeURIComponent(ticket)}x`);
    expect((await badTicket.closed).code).toBe(4401);
  });

  test('a plain GET (no upgrade) is answered 426', async () => {
    expect((await fetch(`${s.url}/ws/live`)).status).toBe(426);
  });
});

describe('/ws/live/{streamId} (the older Telemetra feed)', () => {
  test('refused without a read credential; with one, real viewer counts from the webhook', async () => {
    const anonymous = await openSocket(`${ws}/ws/live/legacy-news`);
    expect((await anonymous.closed).code).toBe(4401);
    expect(anonymous.messages).toEqual([]);
    const ingestOnly = await openSocket(`${ws}/ws/live/legacy-news`, { 'x-api-key': s.apiKey });
    expect((await ingestOnly.closed).code).toBe(4401);
    expect((await fetch(`${s.url}/ws/live/legacy-news`)).status).toBe(426);

    const c = await openSocket(`${ws}/ws/live/legacy-news`, { 'x-api-key': readKey });
    expect(await c.next((m) => m.type === 'welcome')).toMatchObject({ streamId: 'legacy-news', intervalMs: 250 });
    const viewers = (n: number, from = 0) =>
      c.next((m) => m.type === 'metrics' && m.streamId === 'legacy-news' && m.viewers === n, 5000, from);
    await viewers(0);
    const openedAt = Date.now();
    // Committed in one request with a viewer of another channel, who must not be counted here.
    const started = [
      ...['lw-1', 'lw-2'].map((id) => playStarted(id, openedAt, { media: 'legacy-news' })),
      playStarted('lw-other', openedAt, { media: 'legacy-sports' }),
    ];
    expect((await postWebhook(s.url, started, s.apiKey)).status).toBe(200);
    await viewers(2);
    const mark = c.messages.length;
    const closed = playClosed('lw-1', openedAt, Date.now(), { media: 'legacy-news' });
    expect((await postWebhook(s.url, closed, s.apiKey)).status).toBe(200);
    await viewers(1, mark);
    // Another channel's viewer was never counted in this one's figures, nor its messages sent here.
    const metrics = c.messages.filter((m) => m.type === 'metrics');
    expect(metrics.every((m) => m.streamId === 'legacy-news')).toBe(true);
    expect(Math.max(...metrics.map((m) => Number(m.viewers)))).toBe(2);
  });
});

describe('/ws/live updates', () => {
  test('the current state at once, then an update only when it changed, about once per interval', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    c.send({ type: 'subscribe', topic: 'overview:default' });
    await c.next((m) => m.type === 'subscribed');
    const first = await c.next((m) => m.type === 'update');
    expect(first).toMatchObject({ topic: 'overview:default', data: { app: 'default', sessions: 0 } });

    // Nothing changes for four intervals: nothing is sent.
    const before = c.messages.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(c.messages.slice(before).filter((m) => m.type === 'update')).toEqual([]);

    expect((await postSessions(s.url, sdkSession({ sessionId: 'live-1' }), { key: s.apiKey })).status).toBe(200);
    // From the acknowledged commit, not from the request: a loaded machine's commit may itself take a second.
    const committed = Date.now();
    const update = await c.next((m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 1, 5000);
    expect(Number(update.at) - committed).toBeLessThan(1000);

    // Sessions arriving continuously yield about one update per 250 ms interval, not one per session: at least
    // 30 sessions over at least 1.5 s, however slowly a loaded machine takes them.
    const mark = c.messages.length;
    const started = Date.now();
    let n = 0;
    const statuses = new Set<number>();
    while (n < 30 || Date.now() - started < 1500) {
      statuses.add((await postSessions(s.url, sdkSession({ sessionId: `burst-${n++}` }), { key: s.apiKey })).status);
    }
    expect([...statuses]).toEqual([200]);
    // Wait for the update that carries the last session, then count against the time the burst took.
    const last = await c.next(
      (m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 1 + n,
      10_000,
      mark,
    );
    const updates = c.messages.slice(mark).filter((m) => m.type === 'update');
    const intervals = (Number(last.at) - started) / 250;
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.length, `${updates.length} updates in ${intervals} intervals`).toBeLessThanOrEqual(
      Math.ceil(intervals) + 1,
    );
    expect(updates.length).toBeLessThan(n / 3);
    expect((updates.at(-1)!.data as { sessions: number }).sessions).toBe(1 + n);
    c.close();
  });

  test('after a lull the first change is sent at once, the next not before an interval has passed', async () => {
    const t = await startTestServer({ liveIntervalMs: 4000 });
    try {
      const key = (await createApiKey(t.server.store, { appId: 'default', name: 'r', scopes: ['read'] })).key;
      const c = await openSocket(`${t.url.replace('http', 'ws')}/ws/live`, { 'x-api-key': key });
      c.send({ type: 'subscribe', topic: 'overview:default' });
      await c.next((m) => m.type === 'update');
      await new Promise((r) => setTimeout(r, 4000)); // a quiet interval
      expect((await postSessions(t.url, sdkSession({ sessionId: 'lull-1' }), { key: t.apiKey })).status).toBe(200);
      const committed = Date.now(); // the commit's own time on a loaded machine is not the feed's
      const first = await c.next((m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 1, 5000);
      expect(Number(first.at) - committed, 'not held back to the next 4 s tick').toBeLessThan(500);
      await postSessions(t.url, sdkSession({ sessionId: 'lull-2' }), { key: t.apiKey });
      const second = await c.next(
        (m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 2,
        10_000,
      );
      expect(Number(second.at) - Number(first.at), 'at most one update per interval').toBeGreaterThanOrEqual(3600);
      c.close();
    } finally {
      await t.close();
    }
  }, 30_000);

  test('unsubscribe stops updates; bad messages get an error, not a disconnect', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    // Stays subscribed: its update proves the change was published while c was not listening.
    const control = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    c.send({ type: 'subscribe', topic: 'overview:default' });
    control.send({ type: 'subscribe', topic: 'overview:default' });
    const before = (await c.next((m) => m.type === 'update')).data as { sessions: number };
    await control.next((m) => m.type === 'update');
    c.send({ type: 'unsubscribe', topic: 'overview:default' });
    await c.next((m) => m.type === 'unsubscribed');
    const mark = c.messages.length;
    await postSessions(s.url, sdkSession({ sessionId: 'after-unsubscribe' }), { key: s.apiKey });
    await control.next(
      (m) => m.type === 'update' && (m.data as { sessions: number }).sessions === before.sessions + 1,
      3000,
    );
    // The same tick would have reached c before it answers this ping.
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong', 2000, mark);
    expect(c.messages.slice(mark).filter((m) => m.type === 'update')).toEqual([]);

    c.ws.send('not json');
    expect((await c.next((m) => m.type === 'error', 2000, mark)).message).toMatch(/JSON/);
    c.send({ type: 'subscribe', topic: 'nosuch:thing' });
    expect(
      (await c.next((m) => m.type === 'error' && String(m.message).includes('unknown topic'), 2000, mark)).message,
    ).toMatch(/overview/);
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong', 2000, mark);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.close();
  });

  test('a client that floods messages is closed with 4429', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    await c.next((m) => m.type === 'welcome');
    for (let i = 0; i < 50; i++) c.send({ type: 'ping' });
    expect(await c.closed).toEqual({ code: 4429, reason: 'more than 20 messages per second' });
    expect(c.messages.filter((m) => m.type === 'pong').length).toBe(20);
  });

  test('GET /ws/live/health counts connections and subscribers per topic kind', async () => {
    const a = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    const b = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    a.send({ type: 'subscribe', topic: 'overview:default' });
    b.send({ type: 'subscribe', topic: 'overview:default' });
    b.send({ type: 'subscribe', topic: 'moments' });
    await a.next((m) => m.type === 'subscribed');
    await b.next((m) => m.type === 'subscribed' && m.topic === 'moments');
    // afterEach left no connection behind, so these are this test's own.
    const health = await liveHealth();
    expect(health.connections).toBe(2);
    expect(health.topics.overview).toBe(2);
    expect(health.topics.moments).toBe(1);
    a.close();
    b.close();
  });

  test('a moment the engine finds reaches its app\'s "moments" subscribers, and not another app\'s', async () => {
    // The engine's own clock: 45 minutes of sessions per app, then one minute job finds the failure spikes.
    const MIN = 60_000;
    const t = await startTestServer(
      { liveIntervalMs: 250, rateLimit: { requests: 1_000_000, windowSec: 60 } },
      undefined,
      {
        analyticsSchedules: false,
      },
    );
    try {
      const store = t.server.store;
      await store.ensureApp('other', 'Other app', Date.now());
      const ingest = {
        default: t.apiKey,
        other: (await createApiKey(store, { appId: 'other', name: 'i', scopes: ['ingest'] })).key,
      };
      const reader = {
        default: (await createApiKey(store, { appId: 'default', name: 'r', scopes: ['read'] })).key,
        other: (await createApiKey(store, { appId: 'other', name: 'r', scopes: ['read'] })).key,
      };
      const t0 = Math.floor(Date.now() / MIN) * MIN - 50 * MIN;
      await t.server.analytics.runMinuteJob(t0);
      // Both apps fail in bursts, at different minutes and with different contents, so each moment is its app's.
      for (const [app, burst] of [
        ['default', 42],
        ['other', 40],
      ] as const)
        for (let m = 0; m < 45; m++) {
          const failures = m === burst || m === burst + 1 ? 20 : 1 + (m % 2);
          const sessions = Array.from({ length: 30 }, (_, i) =>
            sdkSession({
              sessionId: `${app}-${m}-${i}`,
              timestamp: t0 + m * MIN + i * 1000,
              errorCount: i < failures ? 1 : 0,
              contentId: `${app}-movie`,
            }),
          );
          expect((await postSessions(t.url, sessions, { key: ingest[app] })).status).toBe(200);
        }
      const live = t.url.replace('http', 'ws');
      const mine = await openSocket(`${live}/ws/live`, { 'x-api-key': reader.default });
      const theirs = await openSocket(`${live}/ws/live`, { 'x-api-key': reader.other });
      for (const c of [mine, theirs]) {
        c.send({ type: 'subscribe', topic: 'moments' });
        await c.next((m) => m.type === 'subscribed');
      }
      await t.server.analytics.runMinuteJob(t0 + 46 * MIN);
      const appOf = (m: Record<string, unknown>) => (m.moment as { appId: string }).appId;
      const spikeOf = (app: string) => (m: Record<string, unknown>) =>
        m.type === 'moment' && appOf(m) === app && (m.moment as { metric: string }).metric === 'playback_failure_pct';
      expect((await mine.next(spikeOf('default'), 5000)).moment).toMatchObject({
        kind: 'spike',
        startedAt: t0 + 42 * MIN,
      });
      expect((await theirs.next(spikeOf('other'), 5000)).moment).toMatchObject({
        kind: 'spike',
        startedAt: t0 + 40 * MIN,
      });
      // Each heard its own app's moment (the positive control); now, after a round trip, nothing of the other's.
      for (const c of [mine, theirs]) {
        const mark = c.messages.length;
        c.send({ type: 'ping' });
        await c.next((m) => m.type === 'pong', 2000, mark);
      }
      expect(mine.messages.filter((m) => m.type === 'moment').map(appOf)).not.toContain('other');
      expect(theirs.messages.filter((m) => m.type === 'moment').map(appOf)).not.toContain('default');
      expect(theirs.messages.filter((m) => m.type === 'moment').length).toBeGreaterThan(0);
    } finally {
      for (const c of opened.splice(0)) c.close();
      await t.close();
    }
  }, 60_000);

  test('stopping the server closes live connections with 1001', async () => {
    const t = await startTestServer({ liveIntervalMs: 250 });
    const key = (await createApiKey(t.server.store, { appId: 'default', name: 'r', scopes: ['read'] })).key;
    const c = await openSocket(`${t.url.replace('http', 'ws')}/ws/live`, { 'x-api-key': key });
    await c.next((m) => m.type === 'welcome');
    await t.close();
    expect((await c.closed).code).toBe(1001);
  });
});
