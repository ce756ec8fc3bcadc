// Operating m3w: health endpoints, Prometheus metrics that count what happened, the request log,
// and an OpenAPI document that cannot fall out of step with the routes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postSessions, sdkSession, startTestServer, TEST_STORE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (want.every((w) => (m[2] ?? '').includes(w))) return Number(m[3]);
  }
  return 0;
}

describe('health', () => {
  test('/health is healthy while the database can be read', async () => {
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'healthy' });
  });

  test('/api/v1/health gives details', async () => {
    const body = (await (await fetch(`${s.url}/api/v1/health`)).json()) as Record<string, any>;
    expect(body.status).toBe('healthy');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.database).toEqual({ kind: TEST_STORE, status: 'ok' });
    expect(body.disk.freeBytes).toBeGreaterThan(0);
    expect(typeof body.uptimeSec).toBe('number');
  });
});

describe('health when the database is gone', () => {
  test('/health is 503 unhealthy and ingestion is 503 DATABASE_ERROR, not a crash', async () => {
    const broken = await startTestServer();
    try {
      await broken.server.store.close(); // the database connection is now closed under the server
      const res = await fetch(`${broken.url}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unhealthy' });
      const details = await fetch(`${broken.url}/api/v1/health`);
      expect(details.status).toBe(503);
      const ingest = await postSessions(broken.url, sdkSession(), { key: broken.apiKey });
      expect(ingest.status).toBe(503);
      const body = (await ingest.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('DATABASE_ERROR');
      expect(body.error.message).not.toMatch(/\.ts:\d+/);
    } finally {
      await broken.close();
    }
  });
});

describe('metrics', () => {
  test('count requests, ingested and rejected sessions, and write batches', async () => {
    const before = await (await fetch(`${s.url}/metrics`)).text();
    const ok = [sdkSession({ sessionId: 'm1' }), sdkSession({ sessionId: 'm2' }), sdkSession({ sessionId: 'm3' })];
    expect((await postSessions(s.url, ok, { key: s.apiKey })).status).toBe(200);
    expect((await postSessions(s.url, sdkSession({ sessionId: 'm4' }), { key: s.apiKey })).status).toBe(200);
    expect((await postSessions(s.url, { sessionId: 'bad' }, { key: s.apiKey })).status).toBe(400);
    expect((await postSessions(s.url, sdkSession(), { key: 'wrong-key-123' })).status).toBe(401);

    const res = await fetch(`${s.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const after = await res.text();
    const delta = (name: string, labels?: Record<string, string>) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('sessions_ingested_total')).toBe(4);
    expect(delta('sessions_rejected_total', { code: 'INVALID_SCHEMA' })).toBe(1);
    expect(delta('sessions_rejected_total', { code: 'INVALID_API_KEY' })).toBe(1);
    expect(delta('http_server_requests_total', { method: 'POST', route: '/v1/sessions', status: '200' })).toBe(2);
    expect(delta('http_server_requests_total', { method: 'POST', route: '/v1/sessions', status: '400' })).toBe(1);
    expect(delta('http_server_request_duration_seconds_count', { route: '/v1/sessions' })).toBe(4);
    expect(delta('db_write_batch_size_sum')).toBe(4);
    expect(delta('db_write_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(delta('db_query_duration_seconds_count', { operation: 'upsert_sessions' })).toBeGreaterThanOrEqual(1);
    expect(after).toContain('process_resident_memory_bytes');
  });

  test('ENABLE_METRICS=false turns /metrics into a 404', async () => {
    const off = await startTestServer({ enableMetrics: false });
    try {
      const res = await fetch(`${off.url}/metrics`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    } finally {
      await off.close();
    }
  });
});

describe('request log', () => {
  test('one line per request with method, route, status, duration and request id; /health is not logged; no key', async () => {
    await fetch(`${s.url}/health`);
    await postSessions(s.url, sdkSession({ sessionId: 'logged' }), {
      key: s.apiKey,
      headers: { 'x-request-id': 'log-check-1' },
    });
    const line = s.logs.find((l) => l.reqId === 'log-check-1');
    expect(line).toMatchObject({ msg: 'request', method: 'POST', route: '/v1/sessions', status: 200 });
    expect(typeof line!.ms).toBe('number');
    expect(s.logs.some((l) => l.route === '/health')).toBe(false);
    expect(s.logText()).not.toContain(s.apiKey);
  });
});

describe('OpenAPI', () => {
  test('/openapi.json is OpenAPI 3.1 and describes every registered route', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: object }>>;
      components: { schemas: Record<string, { properties?: object }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    // The routes h3 actually dispatches to, not the table they were built from.
    // Routes the table marks as not part of the API (the dashboard's pages and files) are left out on purpose.
    const notInApi = new Set(
      s.server.http.routes.filter((r) => 'notInApi' in r.openapi).map((r) => `${r.method} ${r.path}`),
    );
    const registered = s.server.http.app['~routes']
      .map((r) => ({ method: r.method!, route: r.route! }))
      .filter((r) => !notInApi.has(`${r.method} ${r.route}`));
    expect(registered.length).toBeGreaterThanOrEqual(6);
    for (const { method, route } of registered) {
      const p = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[p]?.[method.toLowerCase()], `${method} ${route} missing from /openapi.json`).toBeDefined();
      expect(Object.keys(doc.paths[p]![method.toLowerCase()]!.responses).length).toBeGreaterThan(0);
    }
    expect(Object.keys(doc.components.schemas.SessionSummary!.properties!)).toContain('sessionDurationMs');
  });
});

describe('errors', () => {
  test('an unknown route is a 404 envelope, not a stack trace', async () => {
    const res = await fetch(`${s.url}/no/such/route`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('NOT_FOUND');
  });
});
