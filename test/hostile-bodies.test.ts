// Proves that POST /v1/sessions turns every hostile body a client can send — broken JSON, wrong types,
// impossible values, oversized or compressed payloads — into a 4xx with the documented error envelope,
// with no stack trace and no partial write, and that the server still accepts good data afterwards.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

const MAX_BODY_BYTES = 1_048_576; // m3w.config.json default
const MAX_BATCH = 1000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
// Each test's own effect on the store: a refused body must leave the count where that test found it.
let storedBefore = 0;
beforeEach(async () => {
  storedBefore = await server.server.store.countSessions();
});

interface HostileRow {
  name: string;
  body: string | Buffer;
  /** Text the message must contain so a person knows what to fix: the field name, or what is wrong with the body. */
  names: string | RegExp;
}

const base = (): Record<string, unknown> => sdkSession();
const json = (value: unknown): string => JSON.stringify(value);
/** A valid SDK session with one field replaced. */
const withField = (field: string, value: unknown): string => json({ ...base(), [field]: value });
/** A valid SDK session with one field removed. */
const without = (field: string): string => {
  const s = base();
  delete s[field];
  return json(s);
};
/**
 * A valid SDK session with one field set to raw JSON text. Needed for tokens JSON.stringify cannot produce
 * (NaN, 1e400, exact big integers) and for keys such as "__proto__" that an object literal would not keep.
 */
const withRaw = (field: string, rawValue: string): string => {
  const s = base();
  delete s[field];
  return `${json(s).slice(0, -1)},${JSON.stringify(field)}:${rawValue}}`;
};
const customWith = (entries: Record<string, unknown>): string => withField('custom', entries);
const nestedArrays = (depth: number, inner = '1'): string => '['.repeat(depth) + inner + ']'.repeat(depth);

const twentyOne = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
const longText = 'x'.repeat(10_000);
const validJson = json(base());

const ROWS: HostileRow[] = [
  // Not JSON at all, or not all of it.
  { name: 'empty body', body: '', names: /empty/ },
  { name: 'whitespace only', body: ' \n\t\r  ', names: /JSON/ },
  { name: 'truncated JSON object', body: validJson.slice(0, 60), names: /JSON/ },
  { name: 'truncated JSON after the last value', body: validJson.slice(0, -1), names: /JSON/ },
  { name: 'trailing garbage after a valid object', body: `${validJson}xyz`, names: /JSON/ },
  { name: 'two concatenated objects', body: validJson + validJson, names: /JSON/ },
  { name: 'trailing comma', body: `${validJson.slice(0, -1)},}`, names: /JSON/ },
  { name: 'single-quoted keys', body: validJson.replaceAll('"', "'"), names: /JSON/ },
  { name: '100k unclosed [', body: '['.repeat(100_000), names: /JSON/ },
  { name: '100k nested arrays, closed', body: nestedArrays(100_000), names: /expected a JSON object/ },
  { name: 'bare NaN token', body: withRaw('timestamp', 'NaN'), names: /JSON/ },
  { name: 'bare Infinity token', body: withRaw('rebufferRatio', 'Infinity'), names: /JSON/ },
  { name: 'bare -Infinity token', body: withRaw('startupTimeMs', '-Infinity'), names: /JSON/ },
  {
    name: 'invalid UTF-8 byte 0xFF in a string',
    body: Buffer.concat([Buffer.from('{"sessionId":"a'), Buffer.from([0xff]), Buffer.from('b"}')]),
    names: /UTF-8/,
  },
  {
    name: 'overlong UTF-8 encoding of "/"',
    body: Buffer.concat([Buffer.from(`${validJson.slice(0, -1)},"x":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
    names: /UTF-8/,
  },
  { name: 'UTF-16LE body labelled utf-8', body: Buffer.from(validJson, 'utf16le'), names: /JSON/ },

  // Valid JSON that is not a session or a batch.
  { name: 'JSON string as the body', body: '"hello"', names: '(body)' },
  { name: 'JSON number as the body', body: '42', names: '(body)' },
  { name: 'JSON true as the body', body: 'true', names: '(body)' },
  { name: 'JSON null as the body', body: 'null', names: '(body)' },
  { name: 'empty object', body: '{}', names: 'sessionId' },
  { name: 'empty array', body: '[]', names: /empty array/ },
  { name: 'array of numbers', body: '[1,2,3]', names: '[0].(body)' },
  { name: 'array of null', body: '[null]', names: '[0].(body)' },
  { name: 'array of an empty array', body: '[[]]', names: '[0].(body)' },
  { name: 'array of an empty object', body: '[{}]', names: '[0].sessionId' },
  {
    name: `batch of ${MAX_BATCH + 1} valid sessions`,
    body: json(Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ ...base(), sessionId: `s-${i}` }))),
    names: `at most ${MAX_BATCH}`,
  },
  {
    name: 'batch of 3 where only the middle one is bad',
    body: json([
      { ...base(), sessionId: 'a-1' },
      { ...base(), sessionId: 'a-2', timestamp: 'now' },
      { ...base(), sessionId: 'a-3' },
    ]),
    names: '[1].timestamp',
  },

  // Required fields missing or of the wrong type.
  { name: 'sessionId missing', body: without('sessionId'), names: 'sessionId' },
  { name: 'sessionId a number', body: withField('sessionId', 12345), names: 'sessionId' },
  { name: 'sessionId null', body: withField('sessionId', null), names: 'sessionId' },
  { name: 'sessionId an object', body: withField('sessionId', { id: 'x' }), names: 'sessionId' },
  { name: 'sessionId an array', body: withField('sessionId', ['x']), names: 'sessionId' },
  { name: 'timestamp missing', body: without('timestamp'), names: 'timestamp' },
  { name: 'timestamp a numeric string', body: withField('timestamp', '1732000000000'), names: 'timestamp' },
  { name: 'timestamp the string "NaN"', body: withField('timestamp', 'NaN'), names: 'timestamp' },
  { name: 'timestamp true', body: withField('timestamp', true), names: 'timestamp' },
  { name: 'timestamp 1e400 (parses to Infinity)', body: withRaw('timestamp', '1e400'), names: 'timestamp' },
  {
    name: 'timestamp 9007199254740993 (beyond safe integers)',
    body: withRaw('timestamp', '9007199254740993'),
    names: 'timestamp',
  },
  { name: 'timestamp -0', body: withRaw('timestamp', '-0'), names: 'timestamp' },
  { name: 'timestamp 1e21', body: withRaw('timestamp', '1e21'), names: 'timestamp' },
  { name: 'timestamp fractional', body: withField('timestamp', 1_732_000_000_000.5), names: 'timestamp' },
  { name: 'sessionStartDateIso missing', body: without('sessionStartDateIso'), names: 'sessionStartDateIso' },
  {
    name: 'sessionStartDateIso a number',
    body: withField('sessionStartDateIso', 1_732_000_000_000),
    names: 'sessionStartDateIso',
  },
  {
    name: 'sessionStartDateIso February 30th',
    body: withField('sessionStartDateIso', '2024-02-30T00:00:00Z'),
    names: 'sessionStartDateIso',
  },
  {
    name: 'sessionStartDateIso month 13',
    body: withField('sessionStartDateIso', '2024-13-01T00:00:00Z'),
    names: 'sessionStartDateIso',
  },
  {
    name: 'sessionStartDateIso hour 25',
    body: withField('sessionStartDateIso', '2024-11-19T25:00:00Z'),
    names: 'sessionStartDateIso',
  },
  {
    name: 'sessionStartDateIso "yesterday"',
    body: withField('sessionStartDateIso', 'yesterday'),
    names: 'sessionStartDateIso',
  },
  { name: 'sessionStartDateIso empty', body: withField('sessionStartDateIso', ''), names: 'sessionStartDateIso' },
  { name: 'sessionDurationMs missing', body: without('sessionDurationMs'), names: 'sessionDurationMs' },
  {
    name: 'sessionDurationMs the string "Infinity"',
    body: withField('sessionDurationMs', 'Infinity'),
    names: 'sessionDurationMs',
  },
  { name: 'sessionDurationMs 0', body: withField('sessionDurationMs', 0), names: 'sessionDurationMs' },
  { name: 'sessionDurationMs -0', body: withRaw('sessionDurationMs', '-0'), names: 'sessionDurationMs' },
  { name: 'sessionDurationMs 1e21', body: withRaw('sessionDurationMs', '1e21'), names: 'sessionDurationMs' },

  // Text fields: size, Unicode and control characters.
  { name: '10k-char sessionId', body: withField('sessionId', longText), names: 'sessionId' },
  { name: '10k-char contentId', body: withField('contentId', longText), names: 'contentId' },
  { name: '10k-char country', body: withField('country', longText), names: 'country' },
  { name: 'sessionId with a lone surrogate', body: withField('sessionId', 'abc\ud800def'), names: 'sessionId' },
  { name: 'sessionId with NUL', body: withField('sessionId', 'abc\u0000def'), names: 'sessionId' },
  { name: 'sessionId with a newline', body: withField('sessionId', 'abc\ndef'), names: 'sessionId' },
  { name: 'sessionId with DEL', body: withField('sessionId', 'abc\u007fdef'), names: 'sessionId' },
  { name: 'sessionId blank', body: withField('sessionId', '   '), names: 'sessionId' },
  { name: 'sessionId empty', body: withField('sessionId', ''), names: 'sessionId' },
  { name: 'sessionId of Unicode spaces only', body: withField('sessionId', '\u00a0\u2003\u3000'), names: 'sessionId' },
  { name: 'sessionId of 129 characters', body: withField('sessionId', 's'.repeat(129)), names: 'sessionId' },

  // Optional fields with values outside their domain.
  { name: 'country "XX" (not assigned)', body: withField('country', 'XX'), names: 'country' },
  { name: 'country "USA"', body: withField('country', 'USA'), names: 'country' },
  { name: 'streamType "VOD" (case matters)', body: withField('streamType', 'VOD'), names: 'streamType' },
  { name: 'rebufferRatio 1.5', body: withField('rebufferRatio', 1.5), names: 'rebufferRatio' },
  { name: 'rebufferRatio the string "NaN"', body: withField('rebufferRatio', 'NaN'), names: 'rebufferRatio' },
  { name: 'rebufferRatio 1e400', body: withRaw('rebufferRatio', '1e400'), names: 'rebufferRatio' },
  { name: 'rebufferCount -1', body: withField('rebufferCount', -1), names: 'rebufferCount' },
  { name: 'errorCount 1.5', body: withField('errorCount', 1.5), names: 'errorCount' },
  { name: 'totalDroppedFrames -1e400', body: withRaw('totalDroppedFrames', '-1e400'), names: 'totalDroppedFrames' },
  {
    name: 'meanVideoFormatBitrate 9007199254740993',
    body: withRaw('meanVideoFormatBitrate', '9007199254740993'),
    names: 'meanVideoFormatBitrate',
  },

  // custom: size, shape, forbidden keys.
  { name: 'custom with 21 entries', body: customWith(twentyOne), names: 'custom' },
  { name: 'custom with a nested object', body: customWith({ plan: { tier: 'gold' } }), names: 'custom' },
  { name: 'custom with an array value', body: customWith({ tags: ['a', 'b'] }), names: 'custom' },
  { name: 'custom a string', body: withField('custom', 'plan=gold'), names: 'custom' },
  { name: 'custom an array', body: withField('custom', [1, 2]), names: 'custom' },
  { name: 'custom with a 257-char value', body: customWith({ plan: 'x'.repeat(257) }), names: 'custom' },
  { name: 'custom.__proto__', body: withRaw('custom', '{"__proto__":{"polluted":"yes"}}'), names: 'custom.__proto__' },
  {
    name: 'custom.__proto__ with a string value',
    body: withRaw('custom', '{"__proto__":"x"}'),
    names: 'custom.__proto__',
  },
  { name: 'custom with a null value', body: customWith({ plan: null }), names: 'custom' },
  { name: 'custom.constructor', body: withRaw('custom', '{"constructor":"x"}'), names: 'custom.constructor' },
  { name: 'custom.prototype', body: withRaw('custom', '{"prototype":"x"}'), names: 'custom.prototype' },
  { name: 'custom with an empty key', body: customWith({ '': 'x' }), names: 'custom' },
  { name: 'custom with a 65-char key', body: customWith({ ['k'.repeat(65)]: 1 }), names: 'custom' },
  { name: 'custom value with a NUL', body: customWith({ plan: 'a\u0000b' }), names: 'custom.plan' },
  { name: 'contentId with a NUL', body: withField('contentId', 'a\u0000b'), names: 'contentId' },
  { name: 'deviceModel with a newline', body: withField('deviceModel', 'Pixel\n8'), names: 'deviceModel' },
  {
    name: 'sessionStartDateIso in year 50',
    body: withField('sessionStartDateIso', '0050-01-01T00:00:00Z'),
    names: 'sessionStartDateIso',
  },

  // Prototype pollution and runaway nesting at the top level.
  { name: 'top-level __proto__', body: withRaw('__proto__', '{"polluted":"yes"}'), names: '__proto__' },
  {
    name: 'top-level constructor.prototype',
    body: withRaw('constructor', '{"prototype":{"polluted":"yes"}}'),
    names: 'constructor',
  },
  { name: 'top-level prototype', body: withRaw('prototype', '{"polluted":"yes"}'), names: 'prototype' },
  { name: 'unknown field nested 1000 levels deep', body: withRaw('extra', nestedArrays(1000)), names: 'extra' },
  {
    name: 'unknown field of objects nested 1000 levels deep',
    body: withRaw('extra', '{"a":'.repeat(1000) + '1' + '}'.repeat(1000)),
    names: 'extra',
  },

  // Duplicate keys: JSON.parse keeps the last one, and that is what must be validated.
  {
    name: 'duplicate sessionId, last one a number',
    body: `${validJson.slice(0, -1)},"sessionId":42}`,
    names: 'sessionId',
  },
  {
    name: 'duplicate timestamp, last one negative',
    body: `${validJson.slice(0, -1)},"timestamp":-5}`,
    names: 'timestamp',
  },
];

const SOURCE_DIR = fileURLToPath(new URL('../src/', import.meta.url));

/** Checks the documented error envelope and that nothing internal leaks into it. */
async function expectErrorEnvelope(
  res: Response,
  expected: { status: number; code: string; names: string | RegExp },
  sentAt: number,
): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(expected.status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  // The client gets a message, not a debugging session: no frames, no file paths, no internals.
  expect(text).not.toMatch(/\bat .*\.(?:ts|js|mjs|cjs):\d+/);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toContain('node:internal');
  expect(text).not.toContain(SOURCE_DIR);
  // A hostile request must not be able to make the server echo back a large body.
  expect(text.length).toBeLessThan(8192);

  const body = JSON.parse(text) as { error?: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error!;
  expect(error.code).toBe(expected.code);
  expect(typeof error.message).toBe('string');
  const message = error.message as string;
  expect(message.trim().length).toBeGreaterThan(0);
  if (typeof expected.names === 'string') expect(message).toContain(expected.names);
  else expect(message).toMatch(expected.names);
  expect(typeof error.timestamp).toBe('number');
  expect(error.timestamp).toBeGreaterThanOrEqual(sentAt);
  expect(error.timestamp).toBeLessThanOrEqual(Date.now());
  // Nothing of it was stored: no partial batch, no half-validated session.
  expect(await server.server.store.countSessions(), 'sessions stored by a refused request').toBe(storedBefore);
}

async function send(
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ res: Response; sentAt: number }> {
  const sentAt = Date.now();
  const res = await postSessions(server.url, body, { key: server.apiKey, headers });
  return { res, sentAt };
}

describe('hostile bodies are refused with 400 INVALID_SCHEMA', () => {
  test('the table is big enough to mean something', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(45);
    expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
  });

  test.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const { res, sentAt } = await send(row.body);
    await expectErrorEnvelope(res, { status: 400, code: 'INVALID_SCHEMA', names: row.names }, sentAt);
  });
});

describe('oversized and encoded bodies', () => {
  test(`a body over ${MAX_BODY_BYTES} bytes is 413 PAYLOAD_TOO_LARGE`, async () => {
    const body = json({ ...base(), pad: 'x'.repeat(MAX_BODY_BYTES) });
    const { res, sentAt } = await send(body);
    await expectErrorEnvelope(res, { status: 413, code: 'PAYLOAD_TOO_LARGE', names: String(MAX_BODY_BYTES) }, sentAt);
  });

  test('a chunked body (no Content-Length) that grows past the limit is 413', async () => {
    // Without a declared length the limit must be enforced while reading, not up front.
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 2 * MAX_BODY_BYTES) controller.close();
        else {
          controller.enqueue(chunk);
          sent += chunk.length;
        }
      },
    });
    const sentAt = Date.now();
    const res = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': server.apiKey },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectErrorEnvelope(res, { status: 413, code: 'PAYLOAD_TOO_LARGE', names: String(MAX_BODY_BYTES) }, sentAt);
  });

  test('a gzip bomb (20 MB of zeros inside a JSON string) is 413, the limit applying after decompression', async () => {
    const bomb = gzipSync(Buffer.from(`{"sessionId":"${'0'.repeat(20_000_000)}"}`));
    expect(bomb.length).toBeLessThan(MAX_BODY_BYTES); // small on the wire: only decompression can catch it
    const { res, sentAt } = await send(bomb, { 'content-encoding': 'gzip' });
    await expectErrorEnvelope(res, { status: 413, code: 'PAYLOAD_TOO_LARGE', names: /after decompression/ }, sentAt);
  });

  test('a gzip bomb of a valid session padded with 20 MB of JSON whitespace is 413', async () => {
    // Valid JSON if fully inflated, so only the size limit stands in the way.
    const bomb = gzipSync(Buffer.from(validJson + ' '.repeat(20_000_000)));
    const { res, sentAt } = await send(bomb, { 'content-encoding': 'gzip' });
    await expectErrorEnvelope(res, { status: 413, code: 'PAYLOAD_TOO_LARGE', names: /after decompression/ }, sentAt);
  });

  test('corrupt gzip is 400', async () => {
    const gz = gzipSync(Buffer.from(validJson));
    // Flip bytes in the deflate stream (past the 10-byte header) so inflation or the CRC check fails.
    for (let i = 12; i < gz.length - 8; i += 3) gz[i] = gz[i]! ^ 0xff;
    const { res, sentAt } = await send(gz, { 'content-encoding': 'gzip' });
    await expectErrorEnvelope(res, { status: 400, code: 'INVALID_SCHEMA', names: /gzip/ }, sentAt);
  });

  test('truncated gzip is 400', async () => {
    const gz = gzipSync(Buffer.from(validJson));
    const { res, sentAt } = await send(gz.subarray(0, Math.floor(gz.length / 2)), { 'content-encoding': 'gzip' });
    await expectErrorEnvelope(res, { status: 400, code: 'INVALID_SCHEMA', names: /gzip/ }, sentAt);
  });

  test('plain JSON labelled Content-Encoding: gzip is 400', async () => {
    const { res, sentAt } = await send(validJson, { 'content-encoding': 'gzip' });
    await expectErrorEnvelope(res, { status: 400, code: 'INVALID_SCHEMA', names: /gzip/ }, sentAt);
  });

  test('Content-Encoding: br is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const { res, sentAt } = await send(validJson, { 'content-encoding': 'br' });
    await expectErrorEnvelope(res, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', names: /Content-Encoding/ }, sentAt);
  });

  test('Content-Type: text/plain is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const sentAt = Date.now();
    const res = await postSessions(server.url, validJson, { key: server.apiKey, contentType: 'text/plain' });
    await expectErrorEnvelope(res, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', names: /Content-Type/ }, sentAt);
  });
});

describe('after the onslaught', () => {
  test('no __proto__ body polluted Object.prototype of the (in-process) server', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('the server still accepts a valid session (control: the rows were refused for their content)', async () => {
    const res = await postSessions(server.url, { ...base(), sessionId: '🎬-control-session' }, { key: server.apiKey });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ status: 'success', sessionId: '🎬-control-session' });
    // The same count that stayed put for every refused body moves for this one.
    expect(await server.server.store.countSessions()).toBe(storedBefore + 1);
  });

  test(`a gzipped body of exactly ${MAX_BODY_BYTES} bytes after decompression is accepted`, async () => {
    // The boundary next to the 413s above: the limit is "over", not "at".
    const prefix = json({ ...base(), sessionId: 'at-the-limit', pad: '' }).slice(0, -2);
    const body = `${prefix}${'y'.repeat(MAX_BODY_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    const res = await postSessions(server.url, gzipSync(Buffer.from(body)), {
      key: server.apiKey,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await server.server.store.countSessions()).toBe(storedBefore + 1);
  });
});
