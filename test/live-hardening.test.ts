// Live feed and webhook hardening through a real server: open WebSockets lose access when it is taken away,
// topic names cannot reach Object.prototype, cookie upgrades check Origin, and webhooks cannot grow the
// live tracker without bound.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/index.ts';
import { call, createUser, setupAdmin } from './helpers/accounts.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { openSocket, type TestSocket } from './helpers/ws-client.ts';
import { playClosed, playStarted, postWebhook } from './engine/webhook-helpers.ts';

const sockets: TestSocket[] = [];
const open = async (url: string, headers: Record<string, string> = {}) => {
  const c = await openSocket(url, headers);
  sockets.push(c);
  return c;
};
afterEach(async () => {
  for (const c of sockets.splice(0)) {
    c.close();
    await c.closed;
  }
});

describe('open WebSockets are re-authorised', () => {
  let s: TestServer;
  let ws: string;
  let admin: string;
  beforeAll(async () => {
    // A long interval: what closes the sockets below is the immediate re-check, not the next tick.
    s = await startTestServer({ liveIntervalMs: 60_000 });
    ws = s.url.replace('http', 'ws');
    admin = (await setupAdmin(s)).accessToken;
  });
  afterAll(() => s?.close());

  async function memberSocket(email: string) {
    const tokens = await createUser(s, admin, email, 'member', ['default']);
    const ticket = (await call(s, 'POST', '/api/v1/ws-ticket', { token: tokens.accessToken })).json!.ticket as string;
    const c = await open(`${ws}/ws/live?ticket=${encodeURIComponent(ticket)}`);
    c.send({ type: 'subscribe', topic: 'active:default' });
    await c.next((m) => m.type === 'update' && m.topic === 'active:default');
    return { c, tokens };
  }

  test('a revoked grant closes the subscriber with 4403 at once', async () => {
    const { c, tokens } = await memberSocket('grant@example.com');
    const started = Date.now();
    expect((await call(s, 'DELETE', `/api/v1/users/${tokens.user.id}/apps/default`, { token: admin })).status).toBe(
      204,
    );
    expect((await c.closed).code).toBe(4403);
    // At once, not at the next periodic re-check (60 s here); a loaded machine gets room to answer the DELETE.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('a revoked grant closes a legacy /ws/live/{streamId} follower with 4403 at once', async () => {
    const tokens = await createUser(s, admin, 'legacy-grant@example.com', 'member', ['default']);
    const ticket = (await call(s, 'POST', '/api/v1/ws-ticket', { token: tokens.accessToken })).json!.ticket as string;
    const c = await open(`${ws}/ws/live/news?ticket=${encodeURIComponent(ticket)}`);
    await c.next((m) => m.type === 'welcome');
    expect((await call(s, 'DELETE', `/api/v1/users/${tokens.user.id}/apps/default`, { token: admin })).status).toBe(
      204,
    );
    expect((await c.closed).code).toBe(4403);
  });

  test('a disabled user is closed with 4401', async () => {
    const { c, tokens } = await memberSocket('disabled@example.com');
    await call(s, 'PATCH', `/api/v1/users/${tokens.user.id}`, { token: admin, body: { disabled: true } });
    expect((await c.closed).code).toBe(4401);
  });

  test('a revoked login (sign-out) is closed with 4401', async () => {
    const { c, tokens } = await memberSocket('logout@example.com');
    expect(
      (await call(s, 'POST', '/api/v1/auth/logout', { body: { refreshToken: tokens.refreshToken } })).status,
    ).toBeLessThan(300);
    expect((await c.closed).code).toBe(4401);
  });

  test('a revoked read key is closed on the next interval', async () => {
    const key = await createApiKey(s.server.store, { appId: 'default', name: 'r', scopes: ['read'] });
    const c = await open(`${ws}/ws/live`, { 'x-api-key': key.key });
    await c.next((m) => m.type === 'welcome');
    await s.server.store.revokeApiKey(key.record.prefix, Date.now());
    await s.server.live.tick();
    expect((await c.closed).code).toBe(4401);
  });
});

describe('topic names and origins', () => {
  let s: TestServer;
  let ws: string;
  let readKey: string;
  beforeAll(async () => {
    s = await startTestServer({ liveIntervalMs: 250 });
    ws = s.url.replace('http', 'ws');
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'r', scopes: ['read'] })).key;
    await setupAdmin(s);
  });
  afterAll(() => s?.close());

  test('__proto__, toString and constructor:x are unknown topics, answered with error', async () => {
    const c = await open(`${ws}/ws/live`, { 'x-api-key': readKey });
    await c.next((m) => m.type === 'welcome');
    for (const topic of ['__proto__', 'toString', 'constructor:x', 'hasOwnProperty:1']) {
      const from = c.messages.length;
      c.send({ type: 'subscribe', topic });
      const reply = await c.next((m) => m.type === 'error' || m.type === 'subscribed', 5000, from);
      expect(reply, topic).toMatchObject({ type: 'error', message: expect.stringContaining('unknown topic') });
    }
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong');
    expect(s.logText()).not.toMatch(/is not a function/);
  });

  test('channels named like Object.prototype members have 0 viewers, not the prototype (topic, legacy feed, list)', async () => {
    // "constructor" closed within the last complete minute (so /api/v1/streams lists it from its rollup row, with
    // nobody watching it now); "__proto__" open now; "hasOwnProperty" never seen.
    const lastMinute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const events = [
      playClosed('proto-closed', lastMinute + 1000, lastMinute + 2000, { media: 'constructor' }),
      playStarted('proto-open', Date.now(), { media: '__proto__' }),
    ];
    expect(await (await postWebhook(s.url, events, s.apiKey)).json()).toMatchObject({ accepted: 2 });
    await s.server.analytics.runMinuteJob(Date.now() + 120_000);
    const c = await open(`${ws}/ws/live`, { 'x-api-key': readKey });
    for (const [channel, viewers] of [
      ['constructor', 0],
      ['hasOwnProperty', 0],
      ['__proto__', 1],
    ] as const) {
      const topic = `stream:default:${channel}`;
      c.send({ type: 'subscribe', topic });
      expect((await c.next((m) => m.type === 'update' && m.topic === topic)).data, topic).toMatchObject({ viewers });
    }
    const legacy = await open(`${ws}/ws/live/constructor`, { 'x-api-key': readKey });
    expect(await legacy.next((m) => m.type === 'metrics')).toMatchObject({ streamId: 'constructor', viewers: 0 });
    const list = await call(s, 'GET', '/api/v1/streams', { key: readKey });
    expect(list.json!.streams).toEqual([
      expect.objectContaining({ channel: '__proto__', viewers: 1 }),
      expect.objectContaining({ channel: 'constructor', viewers: 0 }),
    ]);
  });

  test('a cookie upgrade from a foreign Origin is refused (4401); same origin and tickets work', async () => {
    const signIn = await fetch(`${s.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: 'correct horse battery', session: 'cookie' }),
    });
    const cookie = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('m3w_access='))!
      .split(';')[0]!;
    const foreign = await open(`${ws}/ws/live`, { cookie, origin: 'https://evil.example' });
    expect((await foreign.closed).code).toBe(4401);
    const host = new URL(s.url).host;
    const same = await open(`${ws}/ws/live`, { cookie, origin: `http://${host}` });
    await same.next((m) => m.type === 'welcome');
    const bearer = await call(s, 'POST', '/api/v1/auth/login', {
      body: { email: 'admin@example.com', password: 'correct horse battery' },
    });
    const ticket = (await call(s, 'POST', '/api/v1/ws-ticket', { token: bearer.json!.accessToken })).json!.ticket;
    const byTicket = await open(`${ws}/ws/live?ticket=${encodeURIComponent(ticket)}`, {
      origin: 'https://other-client.example',
    });
    await byTicket.next((m) => m.type === 'welcome');
    const byKey = await open(`${ws}/ws/live`, { 'x-api-key': readKey, origin: 'https://other-client.example' });
    await byKey.next((m) => m.type === 'welcome');
  });
});

describe('live tracker caps and the webhook event budget', () => {
  let s: TestServer;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    s = await startTestServer({ liveMaxOpenPlays: 5, liveMaxOpenPlaysPerApp: 3, webhookEventsPerMinute: 20 });
    await s.server.store.ensureApp('cap-a', 'A', Date.now());
    await s.server.store.ensureApp('cap-b', 'B', Date.now());
    keyA = (await createApiKey(s.server.store, { appId: 'cap-a', name: 'a', scopes: ['ingest'] })).key;
    keyB = (await createApiKey(s.server.store, { appId: 'cap-b', name: 'b', scopes: ['ingest'] })).key;
  });
  afterAll(() => s?.close());

  test('opens beyond the per-app and the global cap are rejected one by one, with the reason', async () => {
    const now = Date.now();
    const a = await postWebhook(
      s.url,
      ['a1', 'a2', 'a3', 'a4'].map((id) => playStarted(id, now)),
      keyA,
    );
    expect(await a.json()).toEqual({
      accepted: 3,
      duplicates: 0,
      rejected: [{ index: 3, error: 'app is at its cap of 3 open play sessions' }],
    });
    // A repeat of an open play opens nothing new: a duplicate, not a cap rejection.
    expect(await (await postWebhook(s.url, playStarted('a1', now), keyA)).json()).toMatchObject({ duplicates: 1 });
    const b = await postWebhook(
      s.url,
      ['b1', 'b2', 'b3'].map((id) => playStarted(id, now)),
      keyB,
    );
    expect(await b.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [{ index: 2, error: 'server is at its cap of 5 open play sessions' }],
    });
    expect(s.server.analytics.live.size).toBe(5);
    expect(await s.server.store.getPlaySession('cap-a', 'a4')).toBeNull();
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^live_play_sessions_open 5$/m);
    expect(metrics).toMatch(/^webhook_events_rejected_total\{reason="app_open_plays_cap"\} 1$/m);
    expect(metrics).toMatch(/^webhook_events_rejected_total\{reason="open_plays_cap"\} 1$/m);
  });

  test('events beyond webhookEventsPerMinute are refused with 429 and Retry-After, nothing stored', async () => {
    // The budget is the app's: B has used 3 of its 20 events; 17 more fit, then the next request does not.
    const now = Date.now();
    const closes = Array.from({ length: 17 }, (_, i) => ({ ...playStarted(`x${i}`, now), event: 'play_closed' }));
    expect((await postWebhook(s.url, closes, keyB)).status).toBe(200);
    // Five more: the budget refills one event per 3 s, so this stays over it however slow the machine.
    const over = await postWebhook(
      s.url,
      ['late', 'l2', 'l3', 'l4', 'l5'].map((id) => playStarted(id, now)),
      keyB,
    );
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await over.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'RATE_LIMIT_EXCEEDED',
      message: expect.stringContaining('20 events per minute'),
    });
    expect(await s.server.store.getPlaySession('cap-b', 'late')).toBeNull();
    // Another app's budget is its own.
    expect((await postWebhook(s.url, playStarted('a9', now), keyA)).status).toBe(200);
  });
});
