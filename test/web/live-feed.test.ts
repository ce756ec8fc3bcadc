// The live feed through a real m3w server: real API keys, real SQLite, real ingestion, real WebSocket clients.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { openSocket } from '../helpers/ws-client.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let ws: string;
let readKey: string;
let otherReadKey: string;

beforeAll(async () => {
  s = await startTestServer({ liveIntervalMs: 250 });
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

    const sent = Date.now();
    expect((await postSessions(s.url, sdkSession({ sessionId: 'live-1' }), { key: s.apiKey })).status).toBe(200);
    const update = await c.next((m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 1, 2000);
    expect(Number(update.at) - sent).toBeLessThan(1000);

    // Sessions arriving continuously for 1.5 s yield about one update per 250 ms interval, not one per session.
    const mark = c.messages.length;
    const until = Date.now() + 1500;
    let n = 0;
    while (Date.now() < until) {
      await postSessions(s.url, sdkSession({ sessionId: `burst-${n++}` }), { key: s.apiKey });
    }
    await new Promise((r) => setTimeout(r, 400));
    const updates = c.messages.slice(mark).filter((m) => m.type === 'update');
    expect(n).toBeGreaterThan(20);
    expect(updates.length).toBeGreaterThanOrEqual(3);
    expect(updates.length).toBeLessThanOrEqual(9);
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
      const sent = Date.now();
      await postSessions(t.url, sdkSession({ sessionId: 'lull-1' }), { key: t.apiKey });
      const first = await c.next((m) => m.type === 'update' && (m.data as { sessions: number }).sessions === 1, 3000);
      expect(Number(first.at) - sent, 'not held back to the next 4 s tick').toBeLessThan(500);
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
    c.send({ type: 'subscribe', topic: 'overview:default' });
    await c.next((m) => m.type === 'update');
    c.send({ type: 'unsubscribe', topic: 'overview:default' });
    await c.next((m) => m.type === 'unsubscribed');
    const mark = c.messages.length;
    await postSessions(s.url, sdkSession({ sessionId: 'after-unsubscribe' }), { key: s.apiKey });
    await new Promise((r) => setTimeout(r, 700));
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
    const health = (await (await fetch(`${s.url}/ws/live/health`)).json()) as {
      connections: number;
      topics: Record<string, number>;
    };
    expect(health.connections).toBeGreaterThanOrEqual(2);
    expect(health.topics.overview).toBeGreaterThanOrEqual(2);
    expect(health.topics.moments).toBeGreaterThanOrEqual(1);
    a.close();
    b.close();
  });

  test('a moment published by the engine reaches "moments" subscribers at once', async () => {
    const c = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    const other = await openSocket(`${ws}/ws/live`, { 'x-api-key': readKey });
    c.send({ type: 'subscribe', topic: 'moments' });
    await c.next((m) => m.type === 'subscribed');
    await other.next((m) => m.type === 'welcome');
    s.server.live.publishMoment({ id: 1, kind: 'spike', metric: 'viewers' });
    expect((await c.next((m) => m.type === 'moment', 1000)).moment).toMatchObject({ id: 1, kind: 'spike' });
    await new Promise((r) => setTimeout(r, 300));
    expect(other.messages.some((m) => m.type === 'moment')).toBe(false);
    c.close();
    other.close();
  });

  test('stopping the server closes live connections with 1001', async () => {
    const t = await startTestServer({ liveIntervalMs: 250 });
    const key = (await createApiKey(t.server.store, { appId: 'default', name: 'r', scopes: ['read'] })).key;
    const c = await openSocket(`${t.url.replace('http', 'ws')}/ws/live`, { 'x-api-key': key });
    await c.next((m) => m.type === 'welcome');
    await t.close();
    expect((await c.closed).code).toBe(1001);
  });
});
