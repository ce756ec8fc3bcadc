// The sessions page's API and the server-info API, against a real server and SQLite, with read keys.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let reader: string;
let otherReader: string;
const T0 = 1_732_000_000_000;

async function get(path: string, key = reader): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}${path}`, { headers: { 'x-api-key': key } });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  s = await startTestServer();
  reader = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
  await s.server.store.ensureApp('other', 'Other', Date.now());
  otherReader = (await createApiKey(s.server.store, { appId: 'other', name: 'reader', scopes: ['read'] })).key;
  const batch = Array.from({ length: 30 }, (_, i) =>
    sdkSession({
      sessionId: `s-${String(i).padStart(2, '0')}`,
      timestamp: T0 + i * 60_000,
      contentId: i % 3 === 0 ? 'movie-a' : 'movie-b',
      deviceModel: i % 2 === 0 ? 'Pixel 8 Pro' : 'SM-G991B',
      errorCount: i % 5 === 0 ? 1 : 0,
      errorCode: i % 5 === 0 ? 'ERROR_CODE_IO' : null,
    }),
  );
  expect((await postSessions(s.url, batch, { key: s.apiKey })).status).toBe(200);
});
afterAll(() => s?.close());

describe('GET /api/v1/sessions', () => {
  test('newest first, paged by cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(`/api/v1/sessions?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.app).toBe('default');
      seen.push(...r.body.sessions.map((x: { sessionId: string }) => x.sessionId));
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `s-${String(29 - i).padStart(2, '0')}`));
  });

  test('filters: time range, content, errors only, device part, sessionId prefix', async () => {
    const ids = async (qs: string) =>
      (await get(`/api/v1/sessions?${qs}`)).body.sessions.map((x: { sessionId: string }) => x.sessionId);
    expect(await ids(`from=${T0 + 10 * 60_000}&to=${T0 + 13 * 60_000}`)).toEqual(['s-12', 's-11', 's-10']);
    expect((await ids('contentId=movie-a')).length).toBe(10);
    expect(await ids('errorsOnly=true')).toEqual(['s-25', 's-20', 's-15', 's-10', 's-05', 's-00']);
    expect((await ids('device=pixel')).length).toBe(15);
    expect(await ids('q=s-2')).toEqual([
      's-29',
      's-28',
      's-27',
      's-26',
      's-25',
      's-24',
      's-23',
      's-22',
      's-21',
      's-20',
    ]);
    expect(await ids('q=%25')).toEqual([]);
    const row = (await get('/api/v1/sessions?q=s-05')).body.sessions[0];
    expect(row).toMatchObject({
      sessionId: 's-05',
      contentId: 'movie-b',
      deviceModel: 'SM-G991B',
      errorCount: 1,
      errorCode: 'ERROR_CODE_IO',
      startupTimeMs: 850,
    });
    expect(row.id).toBeUndefined();
  });

  test('bad input is a 400 naming the parameter; no credentials 401; another app 404', async () => {
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['errorsOnly=yes', 'errorsOnly'],
      ['cursor=zzz', 'cursor'],
      [`from=10&to=5`, 'to'],
      [`content=${'x'.repeat(257)}`, 'content'],
      ['limit=5&limit=6', 'limit'],
      ['from=-1', 'from'],
    ]) {
      const r = await get(`/api/v1/sessions?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.message).toMatch(new RegExp(`^${field} must be `));
    }
    expect((await fetch(`${s.url}/api/v1/sessions`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/v1/sessions?limit=0&limit=1`)).status, 'who before what').toBe(401);
    const other = await get('/api/v1/sessions?app=default', otherReader);
    expect(other.status).toBe(404);
    expect((await get('/api/v1/sessions', otherReader)).body.sessions).toEqual([]);
  });
});

describe('GET /api/v1/sessions/{sessionId}', () => {
  test('every field and the raw payload; another app cannot see it', async () => {
    const r = await get('/api/v1/sessions/s-07');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ app: 'default', sessionId: 's-07', timestamp: T0 + 7 * 60_000 });
    expect(r.body.payload).toEqual(
      sdkSession({
        sessionId: 's-07',
        timestamp: T0 + 7 * 60_000,
        contentId: 'movie-b',
        deviceModel: 'SM-G991B',
        errorCount: 0,
        errorCode: null,
      }),
    );
    expect((await get('/api/v1/sessions/s-07', otherReader)).status).toBe(404);
    expect((await get('/api/v1/sessions/nope')).status).toBe(404);
  });
});

describe('GET /api/v1/server-info', () => {
  test('the URL the client used, LAN addresses, and the ingest and webhook URLs', async () => {
    const r = await get('/api/v1/server-info');
    expect(r.status).toBe(200);
    expect(r.body.urls[0]).toBe(s.url);
    expect(r.body.port).toBe(s.server.port);
    expect(r.body.ingestUrl).toMatch(/\/v1\/sessions$/);
    expect(r.body.webhookUrl).toMatch(/^http:\/\/.+\/api\/webhook$/);
    expect((await fetch(`${s.url}/api/v1/server-info`)).status).toBe(401);
  });
});
