// POST /v1/sessions and GET /v1/sessions/:id as an SDK developer sees them: the exact SDK payload,
// each validation rule, newer-wins upserts, all-or-nothing batches, gzip, and the size and type limits.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from './helpers/db.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

let n = 0;
const uniqueId = () => `sess-${Date.now()}-${++n}`;

async function readBack(id: string): Promise<Response> {
  return fetch(`${s.url}/v1/sessions/${encodeURIComponent(id)}`, { headers: { 'x-api-key': s.apiKey } });
}

/** The stored row, from the database whichever adapter the server uses. */
async function dbRow(id: string): Promise<Record<string, unknown> | undefined> {
  return (await sql(s.config, 'SELECT * FROM sessions WHERE session_id = ?', [id]))[0];
}

describe('the Android SDK payload', () => {
  test('is stored with explicit nulls, typed columns and the original JSON', async () => {
    const id = uniqueId();
    const body = sdkSession({
      sessionId: id,
      contentId: 'movie-42',
      country: 'de',
      custom: { plan: 'pro', beta: true },
    });
    const res = await postSessions(s.url, body, { key: s.apiKey });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'success', sessionId: id });

    const row = (await dbRow(id))!;
    expect(row).toMatchObject({
      app_id: 'default',
      timestamp: 1_732_000_000_000,
      session_start_ms: Date.parse('2024-11-19T07:05:40.000Z'),
      session_duration_ms: 60_000,
      startup_time_ms: 850,
      rebuffer_time_ms: null,
      total_seek_time_ms: null,
      rebuffer_ratio: 0,
      mean_video_format_bitrate: 2_500_000,
      content_id: 'movie-42',
      country: 'DE',
      custom: JSON.stringify({ plan: 'pro', beta: true }),
    });
    expect(JSON.parse(row.payload as string)).toEqual(body);
  });

  test('a single session is stored as the very text sent (key order and spacing kept); a batch item as its JSON', async () => {
    const id = uniqueId();
    const { sessionId: _omit, ...rest } = sdkSession({ sessionId: id });
    // Integer-like keys first is what JSON.stringify would do to this object; the stored text keeps the sender's order.
    const text = `{ "sessionId": ${JSON.stringify(id)},\n  "zz": 1, "7": "seven", ${JSON.stringify(rest).slice(1)}`;
    expect((await postSessions(s.url, text, { key: s.apiKey })).status).toBe(200);
    expect((await dbRow(id))!.payload).toBe(text);

    const inBatch = uniqueId();
    const item = { ...sdkSession({ sessionId: inBatch }), zz: 1 };
    expect((await postSessions(s.url, `[ ${JSON.stringify(item, null, 1)} ]`, { key: s.apiKey })).status).toBe(200);
    expect((await dbRow(inBatch))!.payload).toBe(JSON.stringify(item));
  });

  test('is read back as sent, with receivedAt', async () => {
    const id = uniqueId();
    const body = sdkSession({ sessionId: id, futureField: { nested: [1, 2] } });
    const before = Date.now();
    expect((await postSessions(s.url, body, { key: s.apiKey })).status).toBe(200);
    const res = await readBack(id);
    expect(res.status).toBe(200);
    const got = (await res.json()) as Record<string, unknown>;
    expect(got).toMatchObject(body);
    expect(got.futureField).toEqual({ nested: [1, 2] }); // unknown fields are kept, not dropped
    expect(got.receivedAt).toBeGreaterThanOrEqual(before);
  });

  test('a session id with unicode works end to end', async () => {
    const id = `🎬 séance ${uniqueId()}`;
    expect((await postSessions(s.url, sdkSession({ sessionId: id }), { key: s.apiKey })).status).toBe(200);
    expect((await readBack(id)).status).toBe(200);
  });

  test('an unknown session is a 404 with the error envelope', async () => {
    const res = await readBack('never-sent');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string; timestamp: number } };
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toContain('never-sent');
    expect(typeof body.error.timestamp).toBe('number');
  });
});

describe('validation names the field', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing sessionId', { sessionId: undefined }, 'sessionId'],
    ['empty sessionId', { sessionId: '' }, 'sessionId'],
    ['blank sessionId', { sessionId: '   ' }, 'sessionId'],
    ['sessionId over 128 characters', { sessionId: 'x'.repeat(129) }, 'sessionId'],
    ['missing timestamp', { timestamp: undefined }, 'timestamp'],
    ['timestamp 0', { timestamp: 0 }, 'timestamp'],
    ['fractional timestamp', { timestamp: 1.5 }, 'timestamp'],
    ['timestamp as string', { timestamp: '1732000000000' }, 'timestamp'],
    ['missing sessionStartDateIso', { sessionStartDateIso: undefined }, 'sessionStartDateIso'],
    ['blank sessionStartDateIso', { sessionStartDateIso: ' ' }, 'sessionStartDateIso'],
    ['unparseable sessionStartDateIso', { sessionStartDateIso: 'last tuesday' }, 'sessionStartDateIso'],
    ['impossible sessionStartDateIso', { sessionStartDateIso: '2025-02-29T10:00:00Z' }, 'sessionStartDateIso'],
    ['missing sessionDurationMs', { sessionDurationMs: undefined }, 'sessionDurationMs'],
    ['sessionDurationMs 0', { sessionDurationMs: 0 }, 'sessionDurationMs'],
    ['negative startupTimeMs', { startupTimeMs: -1 }, 'startupTimeMs'],
    ['fractional rebufferTimeMs', { rebufferTimeMs: 1.5 }, 'rebufferTimeMs'],
    ['negative playTimeMs', { playTimeMs: -5 }, 'playTimeMs'],
    ['string totalDroppedFrames', { totalDroppedFrames: '3' }, 'totalDroppedFrames'],
    ['negative totalSeekTimeMs', { totalSeekTimeMs: -1 }, 'totalSeekTimeMs'],
    ['negative rebufferCount', { rebufferCount: -1 }, 'rebufferCount'],
    ['boolean totalSeekCount', { totalSeekCount: true }, 'totalSeekCount'],
    ['negative errorCount', { errorCount: -2 }, 'errorCount'],
    ['rebufferRatio above 1', { rebufferRatio: 1.01 }, 'rebufferRatio'],
    ['negative rebufferRatio', { rebufferRatio: -0.1 }, 'rebufferRatio'],
    ['negative meanVideoFormatBitrate', { meanVideoFormatBitrate: -1 }, 'meanVideoFormatBitrate'],
    ['streamType not vod/live', { streamType: 'dvr' }, 'streamType'],
    ['country not ISO 3166', { country: 'XX' }, 'country'],
    ['country of three letters', { country: 'DEU' }, 'country'],
    ['contentId as number', { contentId: 42 }, 'contentId'],
    ['custom as array', { custom: ['a'] }, 'custom'],
    ['custom with nested object', { custom: { a: { b: 1 } } }, 'custom'],
    [
      'custom with 21 entries',
      { custom: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) },
      'custom',
    ],
  ];
  test.each(cases)('%s → 400 INVALID_SCHEMA naming %s', async (_name, patch, field) => {
    const body = sdkSession({ sessionId: uniqueId(), ...patch });
    const res = await postSessions(s.url, body, { key: s.apiKey });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { code: string; message: string; details: Array<{ field: string }> };
    };
    expect(error.code).toBe('INVALID_SCHEMA');
    expect(error.message).toContain(field);
    expect(error.details.map((d) => d.field.split('.')[0])).toContain(field);
  });

  test('nullable metrics accept null and absence alike', async () => {
    const id = uniqueId();
    const body = {
      sessionId: id,
      timestamp: 5,
      sessionStartDateIso: '2024-01-01T00:00:00+05:30',
      sessionDurationMs: 1,
    };
    expect((await postSessions(s.url, body, { key: s.apiKey })).status).toBe(200);
    expect(await dbRow(id)).toMatchObject({
      startup_time_ms: null,
      session_start_ms: Date.parse('2023-12-31T18:30:00Z'),
    });
  });
});

describe('idempotency on sessionId', () => {
  test('a newer or equal timestamp replaces; an older one is acknowledged and ignored', async () => {
    const id = uniqueId();
    const post = (timestamp: number, startupTimeMs: number) =>
      postSessions(s.url, sdkSession({ sessionId: id, timestamp, startupTimeMs }), { key: s.apiKey });
    expect((await post(2000, 100)).status).toBe(200);
    expect((await post(3000, 300)).status).toBe(200); // newer: replaces
    expect(await dbRow(id)).toMatchObject({ timestamp: 3000, startup_time_ms: 300 });
    const older = await post(1000, 999);
    expect(older.status).toBe(200); // acknowledged...
    expect(await dbRow(id)).toMatchObject({ timestamp: 3000, startup_time_ms: 300 }); // ...and ignored
    expect((await post(3000, 333)).status).toBe(200); // equal: a retry with the latest data wins
    expect(await dbRow(id)).toMatchObject({ timestamp: 3000, startup_time_ms: 333 });
    expect(await sql(s.config, 'SELECT count(*) AS n FROM sessions WHERE session_id = ?', [id])).toEqual([{ n: 1 }]);
  });
});

describe('batches', () => {
  test('an array of summaries is stored in one request', async () => {
    const ids = Array.from({ length: 250 }, () => uniqueId());
    const res = await postSessions(
      s.url,
      ids.map((id) => sdkSession({ sessionId: id })),
      { key: s.apiKey },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'success', accepted: 250 });
    for (const id of [ids[0]!, ids[249]!]) expect(await dbRow(id)).toBeDefined();
  });

  test('one bad item rejects the whole batch and the error lists each bad index and field', async () => {
    const before = await s.server.store.countSessions();
    const batch = [
      sdkSession({ sessionId: uniqueId() }),
      sdkSession({ sessionId: uniqueId(), sessionDurationMs: -1 }),
      sdkSession({ sessionId: uniqueId() }),
      sdkSession({ sessionId: uniqueId(), country: 'ZZ', errorCount: 'many' }),
    ];
    const res = await postSessions(s.url, batch, { key: s.apiKey });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as {
      error: { message: string; details: Array<{ index: number; field: string }> };
    };
    expect(error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, field: 'sessionDurationMs' }),
        expect.objectContaining({ index: 3, field: 'errorCount' }),
        expect.objectContaining({ index: 3, field: 'country' }),
      ]),
    );
    expect(error.message).toContain('[1].sessionDurationMs');
    expect(await s.server.store.countSessions()).toBe(before);
  });

  test('more than 1000 items is refused', async () => {
    const batch = Array.from({ length: 1001 }, (_, i) => ({
      sessionId: `b${i}`,
      timestamp: 1,
      sessionStartDateIso: '2024-01-01',
      sessionDurationMs: 1,
    }));
    const res = await postSessions(s.url, batch, { key: s.apiKey });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('at most 1000');
  });
});

describe('transport', () => {
  test('Content-Encoding: gzip is accepted', async () => {
    const id = uniqueId();
    const res = await postSessions(s.url, gzipSync(JSON.stringify(sdkSession({ sessionId: id }))), {
      key: s.apiKey,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(await dbRow(id)).toBeDefined();
  });

  test('a body over 1 MiB is 413', async () => {
    const big = sdkSession({ sessionId: uniqueId(), padding: 'x'.repeat(1024 * 1024) });
    const res = await postSessions(s.url, big, { key: s.apiKey });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('a gzip body that inflates past 1 MiB is 413', async () => {
    const bomb = gzipSync(JSON.stringify(sdkSession({ sessionId: uniqueId(), padding: ' '.repeat(3 * 1024 * 1024) })));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await postSessions(s.url, bomb, { key: s.apiKey, headers: { 'content-encoding': 'gzip' } });
    expect(res.status).toBe(413);
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['form', 'application/x-www-form-urlencoded'],
    ['another charset', 'application/json; charset=latin1'],
  ])('Content-Type %s is 415', async (_name, contentType) => {
    const res = await postSessions(s.url, sdkSession({ sessionId: uniqueId() }), { key: s.apiKey, contentType });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('a missing Content-Type is 415', async () => {
    // A Buffer body, so that fetch does not add a text/plain type of its own.
    const res = await postSessions(s.url, Buffer.from(JSON.stringify(sdkSession())), {
      key: s.apiKey,
      contentType: null,
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('got none');
  });

  test('plain application/json without a charset is accepted', async () => {
    const res = await postSessions(s.url, sdkSession({ sessionId: uniqueId() }), {
      key: s.apiKey,
      contentType: 'application/json',
    });
    expect(res.status).toBe(200);
  });

  test('X-Request-Id is echoed, or generated when absent', async () => {
    const echoed = await postSessions(s.url, sdkSession({ sessionId: uniqueId() }), {
      key: s.apiKey,
      headers: { 'x-request-id': 'trace-123' },
    });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const generated = await postSessions(s.url, sdkSession({ sessionId: uniqueId() }), { key: s.apiKey });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await postSessions(s.url, '{', { key: s.apiKey, headers: { 'x-request-id': 'trace-err' } });
    expect(failed.headers.get('x-request-id')).toBe('trace-err');
  });
});
