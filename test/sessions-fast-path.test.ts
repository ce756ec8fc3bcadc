// POST /v1/sessions is served on node:http ahead of h3 (src/http/sessions-fast-path.ts); `/v1/sessions/` (trailing
// slash) still reaches the h3 route, which runs the same function. Both must answer alike: status, error code,
// body, every header but the per-request ones, one log line and the same metrics labels.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const PER_REQUEST = new Set([
  'date',
  'x-request-id',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

async function send(path: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  const res = await fetch(`${s.url}${path}`, { method: 'POST', headers, body });
  const kept: Record<string, string> = {};
  for (const [k, v] of res.headers) if (!PER_REQUEST.has(k) && !k.startsWith('ratelimit-')) kept[k] = v;
  const json = (await res.json()) as Record<string, unknown>;
  const error = json.error as Record<string, unknown> | undefined;
  if (error) error.timestamp = 0;
  return { status: res.status, headers: kept, body: json };
}

let n = 0;
const cases: Array<[string, (id: string) => { headers: Record<string, string>; body: string | Buffer }]> = [
  ['a valid session', (id) => ({ headers: json(), body: JSON.stringify(sdkSession({ sessionId: id })) })],
  ['a batch', (id) => ({ headers: json(), body: JSON.stringify([sdkSession({ sessionId: id })]) })],
  [
    'gzip',
    (id) => ({
      headers: { ...json(), 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(sdkSession({ sessionId: id }))),
    }),
  ],
  ['a field missing', () => ({ headers: json(), body: JSON.stringify({ ...sdkSession(), sessionId: undefined }) })],
  ['not JSON', () => ({ headers: json(), body: '{"sessionId":' })],
  ['a wrong content type', () => ({ headers: { ...json(), 'content-type': 'text/plain' }, body: '{}' })],
  ['no key', () => ({ headers: { 'content-type': 'application/json' }, body: '{}' })],
  ['an unknown key', () => ({ headers: { ...json(), 'x-api-key': 'nope' }, body: '{}' })],
  [
    'an origin the key does not allow',
    (id) => ({
      headers: { ...json(), origin: 'https://elsewhere.example' },
      body: JSON.stringify(sdkSession({ sessionId: id })),
    }),
  ],
];
function json(): Record<string, string> {
  return { 'content-type': 'application/json', 'x-api-key': s.apiKey };
}

test.each(cases)('%s: the fast path answers as the h3 route does', async (_name, make) => {
  const fast = make(`fast-${++n}`);
  const viaH3 = make(`h3-${n}`);
  const a = await send('/v1/sessions', fast.headers, fast.body);
  const b = await send('/v1/sessions/', viaH3.headers, viaH3.body);
  if (a.body.sessionId) a.body.sessionId = b.body.sessionId;
  expect(a).toEqual(b);
});

test('one log line per request on the fast path, with the route, status and request id', async () => {
  const before = s.logs.length;
  const res = await fetch(`${s.url}/v1/sessions?x=1`, {
    method: 'POST',
    headers: { ...json(), 'x-request-id': 'fast-path-1' },
    body: JSON.stringify(sdkSession({ sessionId: 'fast-log-1' })),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('fast-path-1');
  const lines = s.logs.slice(before).filter((l) => l.msg === 'request');
  expect(lines).toEqual([
    expect.objectContaining({
      method: 'POST',
      route: '/v1/sessions',
      path: '/v1/sessions',
      status: 200,
      reqId: 'fast-path-1',
    }),
  ]);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(metrics).toMatch(/http_server_requests_total\{method="POST",route="\/v1\/sessions",status="200"\} \d+/);
});
