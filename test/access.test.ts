// Who may call what: API keys and their scopes, and the token-bucket rate limits with their headers.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/index.ts';
import { sql } from './helpers/db.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

type Envelope = { error: { code: string; message: string } };

describe('API keys', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.close());

  test('a missing X-API-Key is 401 INVALID_API_KEY', async () => {
    const res = await postSessions(s.url, sdkSession(), { key: null });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Envelope).error).toMatchObject({
      code: 'INVALID_API_KEY',
      message: 'missing X-API-Key header',
    });
  });

  test('an unknown key is 401 INVALID_API_KEY, on reads too', async () => {
    const res = await postSessions(s.url, sdkSession(), { key: 'm3w_00000000_not-a-real-key-at-all' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Envelope).error.code).toBe('INVALID_API_KEY');
    const read = await fetch(`${s.url}/v1/sessions/x`, { headers: { 'x-api-key': 'nope-nope-nope' } });
    expect(read.status).toBe(401);
  });

  test('a key without the ingest scope is 403 FORBIDDEN for ingestion but may read', async () => {
    const { key } = await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] });
    const res = await postSessions(s.url, sdkSession(), { key });
    expect(res.status).toBe(403);
    expect(((await res.json()) as Envelope).error).toMatchObject({ code: 'FORBIDDEN' });
    expect((await postSessions(s.url, sdkSession({ sessionId: 'for-reader' }), { key: s.apiKey })).status).toBe(200);
    const read = await fetch(`${s.url}/v1/sessions/for-reader`, { headers: { 'x-api-key': key } });
    expect(read.status).toBe(200);
  });

  test("a key sees only its own app's sessions", async () => {
    await s.server.store.ensureApp('other', 'Other app', Date.now());
    const { key: otherKey } = await createApiKey(s.server.store, {
      appId: 'other',
      name: 'other ingest',
      scopes: ['ingest'],
    });
    expect(
      (await postSessions(s.url, sdkSession({ sessionId: 'shared-id', startupTimeMs: 1 }), { key: s.apiKey })).status,
    ).toBe(200);
    expect(
      (await postSessions(s.url, sdkSession({ sessionId: 'shared-id', startupTimeMs: 2 }), { key: otherKey })).status,
    ).toBe(200);
    const mine = await fetch(`${s.url}/v1/sessions/shared-id`, { headers: { 'x-api-key': s.apiKey } });
    const theirs = await fetch(`${s.url}/v1/sessions/shared-id`, { headers: { 'x-api-key': otherKey } });
    expect(((await mine.json()) as { startupTimeMs: number }).startupTimeMs).toBe(1);
    expect(((await theirs.json()) as { startupTimeMs: number }).startupTimeMs).toBe(2);
    const onlyTheirs = await postSessions(s.url, sdkSession({ sessionId: 'only-other' }), { key: otherKey });
    expect(onlyTheirs.status).toBe(200);
    expect((await fetch(`${s.url}/v1/sessions/only-other`, { headers: { 'x-api-key': s.apiKey } })).status).toBe(404);
  });

  test('a revoked key is refused', async () => {
    const used = await createApiKey(s.server.store, { appId: 'default', name: 'used', scopes: ['ingest'] });
    const unused = await createApiKey(s.server.store, { appId: 'default', name: 'unused', scopes: ['ingest'] });
    expect((await postSessions(s.url, sdkSession({ sessionId: 'r1' }), { key: used.key })).status).toBe(200);
    await s.server.store.revokeApiKey(unused.record.prefix, Date.now());
    const res = await postSessions(s.url, sdkSession({ sessionId: 'r2' }), { key: unused.key });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Envelope).error.message).toContain('revoked');
  });

  test('keys are stored only as hashes', async () => {
    const keys = await s.server.store.listApiKeys();
    expect(keys.length).toBeGreaterThan(0);
    const dump = JSON.stringify(await sql(s.config, 'SELECT * FROM api_keys'));
    expect(dump).not.toContain(s.apiKey);
    expect(dump).toContain(s.apiKey.split('_').slice(0, 2).join('_')); // the prefix is visible
  });
});

describe('rate limiting', () => {
  let s: TestServer;
  afterEach(() => s?.close());

  test('over the limit is 429 with Retry-After, and every limited response carries RateLimit headers', async () => {
    s = await startTestServer({ rateLimit: { requests: 5, windowSec: 60 } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await postSessions(s.url, sdkSession({ sessionId: `rl-${i}` }), { key: s.apiKey });
      statuses.push(last.status);
      expect(last.headers.get('ratelimit-limit')).toBe('5');
      expect(last.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
      expect(last.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(last!.headers.get('retry-after'))).toBeLessThanOrEqual(12); // one token every 12 s
    expect(last!.headers.get('ratelimit-remaining')).toBe('0');
    expect(((await last!.json()) as Envelope).error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(await s.server.store.countSessions()).toBe(5);
  });

  test('requests with bad keys are limited per address, so keys cannot be guessed at speed', async () => {
    s = await startTestServer({ rateLimit: { requests: 3, windowSec: 60 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await postSessions(s.url, sdkSession(), { key: `guess-${i}-xxxxxxxx` })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // A valid key from the same address has its own bucket.
    expect((await postSessions(s.url, sdkSession(), { key: s.apiKey })).status).toBe(200);
  });

  test('the limit is per key and address, not per key alone', async () => {
    s = await startTestServer({ rateLimit: { requests: 2, windowSec: 60 }, trustProxy: true });
    const from = (ip: string, i: number) =>
      postSessions(s.url, sdkSession({ sessionId: `${ip}-${i}` }), {
        key: s.apiKey,
        headers: { 'x-forwarded-for': ip },
      });
    const a = [await from('10.0.0.1', 1), await from('10.0.0.1', 2), await from('10.0.0.1', 3)].map((r) => r.status);
    const b = [await from('10.0.0.2', 1), await from('10.0.0.2', 2)].map((r) => r.status);
    expect(a).toEqual([200, 200, 429]);
    expect(b).toEqual([200, 200]);
  });
});
