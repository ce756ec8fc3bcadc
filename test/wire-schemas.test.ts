// The account, app, key, user, audit, guest-token, analytics, room, playback and session wire formats: each TypeBox schema validates its request body
// (a 400 that names every wrong field, never echoing a secret), is the /openapi.json entry, and keeps the rules
// of the part behind it. The dashboard imports these types rather than copying them, without pulling in server code.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GUEST_DEFAULT_TTL_SEC, GUEST_MAX_TTL_SEC, GUEST_RESOURCE } from '../src/auth/guest-tokens.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from '../src/auth/passwords.ts';
import { QOE_METRICS } from '../src/engine/index.ts';
import * as accounts from '../src/wire/accounts.ts';
import * as analytics from '../src/wire/analytics.ts';
import * as apps from '../src/wire/apps.ts';
import * as audit from '../src/wire/audit.ts';
import { ERROR_STATUS } from '../src/http/errors.ts';
import * as errors from '../src/wire/errors.ts';
import * as server from '../src/wire/server.ts';
import * as sessions from '../src/wire/sessions.ts';
import * as users from '../src/wire/users.ts';
import { ROLES, SCOPES } from '../src/store/index.ts';
import { call, setupAdmin, type Tokens } from './helpers/accounts.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'do-not-echo-me-9f3a';

let ts: TestServer;
let admin: Tokens;
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(() => ts.close());

interface BadBody {
  method: string;
  path: string;
  body: unknown;
  /** Each field the message must name, with what it must say about it. */
  names: RegExp[];
  /** Left out of the message: secrets sent in the body. */
  hides?: string;
}

const tooLong = `${SECRET}${'x'.repeat(1100)}`;
const SIGNED_IN: BadBody[] = [
  {
    method: 'POST',
    path: '/api/v1/auth/login',
    body: { email: 1, password: 2 },
    names: [/email must be a string, got 1/, /password must be a string/],
  },
  {
    method: 'POST',
    path: '/api/v1/auth/login',
    body: { email: 'a@b.c', password: tooLong },
    names: [/password must be a string of at most 1024/],
    hides: SECRET,
  },
  {
    method: 'POST',
    path: '/api/v1/auth/login',
    body: { email: 'a@b.c', password: 'x', session: 'magic' },
    names: [/session must be "token" or "cookie", got "magic"/],
  },
  {
    method: 'POST',
    path: '/api/v1/auth/refresh',
    body: { refreshToken: 42 },
    names: [/refreshToken must be a string/],
  },
  {
    method: 'POST',
    path: '/api/v1/auth/logout',
    body: { refreshToken: [SECRET] },
    names: [/refreshToken must be a string/],
    hides: SECRET,
  },
  {
    method: 'POST',
    path: '/api/v1/me/password',
    body: { currentPassword: SECRET, newPassword: 'short' },
    names: [/newPassword must be at least 10 characters/],
    hides: SECRET,
  },
  {
    method: 'POST',
    path: '/api/v1/me/password',
    body: {},
    names: [/currentPassword is required/, /newPassword is required: at least 10 characters/],
  },
  {
    method: 'POST',
    path: '/api/v1/users',
    body: { email: 'x@example.com', password: SECRET, role: 'owner' },
    names: [/role must be "admin" or "member", got "owner"/],
    hides: SECRET,
  },
  {
    method: 'POST',
    path: '/api/v1/users',
    body: { password: 'long enough password' },
    names: [/email is required: an address like name@example.com/],
  },
  {
    method: 'PATCH',
    path: '/api/v1/users/1',
    body: { disabled: 'yes', role: null },
    names: [/role must be "admin" or "member", got null/, /disabled must be true or false, got "yes"/],
  },
  {
    method: 'POST',
    path: '/api/v1/apps',
    body: { id: 'Bad Id' },
    names: [/id must be 1 to 63 lowercase letters, digits and dashes.*got "Bad Id"/],
  },
  {
    method: 'POST',
    path: '/api/v1/apps',
    body: { id: 'tv', name: 'bell\u0007' },
    names: [/name must be 1 to 100 characters without control characters/],
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/default',
    body: { name: '   ' },
    names: [/name must be 1 to 100 characters without control characters, got " {3}"/],
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/default',
    body: { name: 'x'.repeat(101) },
    names: [/name must be 1 to 100 characters/],
  },
  {
    method: 'POST',
    path: '/api/v1/apps/default/keys',
    body: { name: 'k', scopes: [] },
    names: [/scopes must be a non-empty array of "ingest", "read"/],
  },
  {
    method: 'POST',
    path: '/api/v1/apps/default/keys',
    body: { name: 'k', scopes: ['admin'], rateLimit: 1.5 },
    names: [/scopes must be/, /rateLimit must be an integer from 1 to 1000000000.*got 1.5/],
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens',
    body: { resource: 'file:/etc/passwd' },
    names: [/resource must be "room:<id>" or "video:<id>"/],
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens',
    body: { resource: 'room:a', ttlSeconds: 30, displayName: '' },
    names: [/ttlSeconds must be an integer from 60 to 604800.*got 30/, /displayName must be 1 to 64 characters/],
  },
];

describe('request bodies', () => {
  test('a bad setup body is a 400 naming each field, without echoing the token or the password', async () => {
    const r = await call(ts, 'POST', '/api/v1/auth/setup', {
      body: { token: '', email: ['a'], password: SECRET.slice(0, 5), session: 1 },
    });
    expect(r.status).toBe(400);
    expect(r.json!.error.code).toBe('INVALID_SCHEMA');
    const message = r.json!.error.message as string;
    for (const text of [
      'token must be the setup token from the setup link',
      'email must be an address like name@example.com, got an array',
      'password must be at least 10 characters',
      'session must be "token" or "cookie", got 1',
    ])
      expect(message).toContain(text);
    expect(message).not.toContain(SECRET.slice(0, 5));
    expect(r.json!.error.details.map((d: { field: string }) => d.field)).toEqual([
      'token',
      'email',
      'password',
      'session',
    ]);
    admin = await setupAdmin(ts);
  });

  test.each(SIGNED_IN)('$method $path with $body is a 400 that names the field', async (row) => {
    const r = await call(ts, row.method, row.path, { token: admin.accessToken, body: row.body });
    expect(r.status).toBe(400);
    expect(r.json!.error.code).toBe('INVALID_SCHEMA');
    for (const name of row.names) expect(r.json!.error.message).toMatch(name);
    expect(r.json!.error.details.length).toBe(row.names.length);
    if (row.hides) expect(JSON.stringify(r.json)).not.toContain(row.hides);
  });

  test('null where a default exists means the default, as before the schemas', async () => {
    const app = await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: 'nulls', name: null } });
    expect(app.json).toMatchObject({ id: 'nulls', name: 'nulls' });
    const key = await call(ts, 'POST', '/api/v1/apps/nulls/keys', {
      token: admin.accessToken,
      body: { name: '  spaced  ', scopes: null, rateLimit: null },
    });
    expect(key.json).toMatchObject({ name: 'spaced', scopes: ['ingest'], rateLimit: null });
    const user = await call(ts, 'POST', '/api/v1/users', {
      token: admin.accessToken,
      body: { email: 'Nulls@Example.com', password: 'long enough password', role: null },
    });
    expect(user.json).toMatchObject({ email: 'nulls@example.com', role: 'member' });
    await ts.server.store.videos.createVideo({
      id: 'nullsvideo',
      appId: 'default',
      title: 'nulls',
      status: 'uploading',
      uploadLength: 10,
      createdAt: Date.now(),
    });
    const guest = await call(ts, 'POST', '/api/v1/guest-tokens', {
      token: admin.accessToken,
      body: { resource: 'video:nullsvideo', ttlSeconds: null, displayName: null },
    });
    expect(guest.status).toBe(201);
    expect(guest.json!.expiresAt - Date.now()).toBeGreaterThan((GUEST_DEFAULT_TTL_SEC - 60) * 1000);
  });

  test('unknown fields are ignored and duplicate scopes collapse', async () => {
    const key = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'dup', scopes: ['read', 'read', 'ingest'], extra: { deep: true } },
    });
    expect(key.status).toBe(201);
    expect(key.json!.scopes).toEqual(['read', 'ingest']);
  });
});

describe('the schemas are the OpenAPI entries', () => {
  type Doc = {
    paths: Record<string, Record<string, Record<string, any>>>;
    components: { schemas: Record<string, unknown> };
  };
  const asPublished = (schema: object) => {
    const { $id: _id, ...rest } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
    return rest;
  };
  const bodyRef = (doc: Doc, method: string, p: string) =>
    doc.paths[p]![method]!.requestBody?.content['application/json'].schema.$ref;
  const answerRef = (doc: Doc, method: string, p: string, status: string) =>
    doc.paths[p]![method]!.responses[status].content['application/json'].schema.$ref;

  test('each route names its body and answer schema, and every reference resolves', async () => {
    const doc = (await (await fetch(`${ts.url}/openapi.json`)).json()) as Doc;
    const expected: Array<[string, string, string | null, string, string]> = [
      ['post', '/api/v1/auth/setup', 'SetupBody', '201', 'LoginAnswer'],
      ['post', '/api/v1/auth/login', 'LoginBody', '200', 'LoginAnswer'],
      ['post', '/api/v1/auth/refresh', 'RefreshBody', '200', 'LoginAnswer'],
      ['get', '/api/v1/auth/status', null, '200', 'AuthStatus'],
      ['get', '/api/v1/me', null, '200', 'Me'],
      ['post', '/api/v1/me/password', 'PasswordChangeBody', '204', ''],
      ['post', '/api/v1/ws-ticket', null, '200', 'WsTicket'],
      ['get', '/api/v1/users', null, '200', 'UserList'],
      ['post', '/api/v1/users', 'NewUserBody', '201', 'UserRecord'],
      ['patch', '/api/v1/users/{id}', 'UserPatchBody', '200', 'UserRecord'],
      ['get', '/api/v1/apps', null, '200', 'AppList'],
      ['post', '/api/v1/apps', 'NewAppBody', '201', 'App'],
      ['patch', '/api/v1/apps/{id}', 'AppRenameBody', '200', 'App'],
      ['get', '/api/v1/apps/{id}/keys', null, '200', 'ApiKeyList'],
      ['post', '/api/v1/apps/{id}/keys', 'NewApiKeyBody', '201', 'NewApiKey'],
      ['post', '/api/v1/apps/{id}/keys/{prefix}/rotate', null, '201', 'NewApiKey'],
      ['get', '/api/v1/audit', null, '200', 'AuditPage'],
      ['post', '/api/v1/guest-tokens', 'GuestTokenBody', '201', 'GuestToken'],
      ['post', '/api/v1/guest-tokens/revoke', 'GuestTokenRevokeBody', '204', ''],
      ['get', '/health', null, '200', 'Health'],
      ['get', '/api/v1/health', null, '200', 'HealthDetails'],
      ['get', '/api/v1/server-info', null, '200', 'ServerInfo'],
      ['get', '/stats/active', null, '200', 'ActiveCounts'],
      ['get', '/api/v1/streams', null, '200', 'StreamList'],
      ['get', '/api/v1/streams/{channel}/metrics', null, '200', 'ChannelSeries'],
      ['get', '/api/v1/stats/series', null, '200', 'StreamSeries'],
      ['get', '/api/v1/qoe/timeseries', null, '200', 'QoeSeries'],
      ['get', '/api/v1/qoe/breakdown', null, '200', 'QoeBreakdown'],
      ['get', '/api/v1/qoe/summary', null, '200', 'QoeSummary'],
      ['get', '/ws/live/health', null, '200', 'LiveFeedHealth'],
      ['get', '/api/v1/moments', null, '200', 'MomentList'],
      ['get', '/api/v1/streams/{channel}/moments', null, '200', 'ChannelMoments'],
      ['post', '/api/v1/videos/{id}/playback', null, '200', 'PlaybackGrant'],
      ['post', '/api/v1/rooms/{id}/playback', null, '200', 'RoomPlaybackGrant'],
      ['post', '/api/v1/rooms/{id}/invites', 'RoomInviteBody', '201', 'RoomInvite'],
      ['post', '/v1/sessions', null, '200', 'SessionAccepted'],
      ['get', '/v1/sessions/{sessionId}', null, '200', 'StoredSession'],
      ['get', '/api/v1/sessions', null, '200', 'SessionPage'],
      ['get', '/api/v1/sessions/{sessionId}', null, '200', 'SessionDetail'],
      ['post', '/api/webhook', null, '200', 'WebhookAnswer'],
      ['get', '/api/v1/videos', null, '200', 'VideoList'],
      ['get', '/api/v1/videos/{id}', null, '200', 'Video'],
      ['patch', '/api/v1/videos/{id}', 'VideoRenameBody', '200', 'Video'],
      ['post', '/api/v1/videos/{id}/retry', null, '200', 'VideoRetryAnswer'],
      ['get', '/api/v1/alert-rules', null, '200', 'AlertRuleList'],
      ['get', '/api/v1/alerts', null, '200', 'AlertEventList'],
      ['get', '/api/v1/notification-channels', null, '200', 'NotificationChannelList'],
      ['post', '/api/v1/notification-channels/{id}/test', null, '200', 'ChannelTestAnswer'],
    ];
    for (const [method, p, body, status, answer] of expected) {
      expect(bodyRef(doc, method, p), `${method} ${p} body`).toBe(body ? `#/components/schemas/${body}` : undefined);
      if (answer)
        expect(answerRef(doc, method, p, status), `${method} ${p} answer`).toBe(`#/components/schemas/${answer}`);
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z0-9]+)"/g)].map(
      (m) => m[1]!,
    );
    for (const name of new Set(refs)) expect(doc.components.schemas[name], name).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain('"$id"');
  });

  test('a published component is its wire schema, nested named schemas referenced by name', async () => {
    const doc = (await (await fetch(`${ts.url}/openapi.json`)).json()) as Doc;
    for (const schema of [
      accounts.SetupBody,
      accounts.LoginBody,
      accounts.User,
      apps.NewApiKeyBody,
      apps.ApiKey,
      users.UserPatchBody,
      audit.GuestTokenBody,
      audit.AuditEntry,
      server.ServerInfo,
      errors.ErrorEnvelope,
    ])
      expect(doc.components.schemas[(schema as { $id?: string }).$id!]).toEqual(asPublished(schema));
    const list = doc.components.schemas.AppList as { properties: { apps: { items: unknown } } };
    expect(doc.components.schemas.StreamList).toMatchObject({
      properties: {
        streams: { items: { properties: { last_minute: { $ref: '#/components/schemas/StreamFigures' } } } },
      },
    });
    expect(list.properties.apps.items).toEqual({ $ref: '#/components/schemas/App' });
  });
});

describe('the answers fit their schemas', () => {
  const fits = (schema: TSchema, value: unknown, what: string) => {
    const check = Compile(schema);
    expect(
      [...check.Errors(value)].map((e) => `${e.instancePath} ${e.message}`),
      what,
    ).toEqual([]);
  };

  test('every analytics answer is what its wire schema says, with data in it', async () => {
    const now = Date.now();
    for (const [i, country] of ['DE', 'DE', 'FR'].entries())
      expect(
        (
          await postSessions(
            ts.url,
            sdkSession({ sessionId: `wire-answer-${i}`, timestamp: now - 120_000, country, errorCount: i }),
            { key: ts.apiKey },
          )
        ).status,
      ).toBe(200);
    const from = now - 3_600_000;
    const get = async (path: string) => {
      const r = await call(ts, 'GET', path, { token: admin.accessToken });
      expect(r.status, path).toBe(200);
      return r.json;
    };
    fits(analytics.ActiveCounts, await get('/stats/active?app=default'), '/stats/active');
    fits(analytics.StreamList, await get('/api/v1/streams?app=default'), '/api/v1/streams');
    const series = await get(`/api/v1/stats/series?app=default&dimension=global&from=${from}`);
    expect(series!.points.length).toBeGreaterThan(0);
    fits(analytics.StreamSeries, series, '/api/v1/stats/series');
    fits(analytics.ChannelSeries, await get(`/api/v1/streams/news/metrics?app=default&from=${from}`), 'metrics');
    const qoe = await get(`/api/v1/qoe/timeseries?app=default&metric=startup_p95_ms&from=${from}&filter[country]=DE`);
    expect(qoe!.points.some((p: { value: number | null }) => p.value !== null)).toBe(true);
    fits(analytics.QoeSeries, qoe, '/api/v1/qoe/timeseries');
    const breakdown = await get(`/api/v1/qoe/breakdown?app=default&dimension=country&from=${from}`);
    expect(breakdown!.rows.map((r: { value: string }) => r.value)).toEqual(['DE', 'FR']);
    fits(analytics.QoeBreakdown, breakdown, '/api/v1/qoe/breakdown');
    const summary = await get(`/api/v1/qoe/summary?app=default&from=${from}&filter[country]=DE`);
    expect(summary!.current.sessions).toBe(2);
    fits(analytics.QoeSummary, summary, '/api/v1/qoe/summary');
    fits(analytics.MomentList, await get(`/api/v1/moments?from=${from}`), '/api/v1/moments');
    fits(analytics.ChannelMoments, await get(`/api/v1/streams/news/moments?app=default&from=${from}`), 'moments');
  });

  test('every session answer is what its wire schema says', async () => {
    // The SessionSummary references are checked as objects here: that schema is the ingest part's own.
    const withSummary = (schema: TSchema) =>
      JSON.parse(
        JSON.stringify(schema).replaceAll('{"$ref":"#/components/schemas/SessionSummary"}', '{"type":"object"}'),
      );
    const one = await postSessions(ts.url, sdkSession({ sessionId: 'wire-session-1' }), { key: ts.apiKey });
    fits(sessions.SessionAccepted, await one.json(), 'POST /v1/sessions');
    const batch = await postSessions(ts.url, [sdkSession({ sessionId: 'wire-session-2' })], { key: ts.apiKey });
    fits(sessions.SessionAccepted, await batch.json(), 'POST /v1/sessions batch');
    const stored = await fetch(`${ts.url}/v1/sessions/wire-session-1`, { headers: { 'x-api-key': ts.apiKey } });
    fits(withSummary(sessions.StoredSession), await stored.json(), 'GET /v1/sessions/{id}');
    const page = await call(ts, 'GET', '/api/v1/sessions?app=default', { token: admin.accessToken });
    expect(page.json!.sessions.length).toBeGreaterThan(0);
    fits(sessions.SessionPage, page.json, 'GET /api/v1/sessions');
    const detail = await call(ts, 'GET', '/api/v1/sessions/wire-session-1?app=default', { token: admin.accessToken });
    fits(withSummary(sessions.SessionDetail), detail.json, 'GET /api/v1/sessions/{id}');
    const hook = await fetch(`${ts.url}/api/webhook`, {
      method: 'POST',
      headers: { 'x-api-key': ts.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify([
        { event: 'play_started', id: 'wire-play-1', time: new Date().toISOString(), media: 'ch1' },
        { event: 'nope' },
      ]),
    });
    const answer = (await hook.json()) as { rejected: unknown[] };
    expect(answer.rejected.length).toBe(1);
    fits(sessions.WebhookAnswer, answer, 'POST /api/webhook');
  });

  test("the audit log's query is read by its schema: a bad value is a 400 naming it, the default applies", async () => {
    const bad = await call(ts, 'GET', '/api/v1/audit?limit=201', { token: admin.accessToken });
    expect(bad.status).toBe(400);
    expect(bad.json!.error.message).toBe('limit must be an integer from 1 to 200, got "201"');
    const before = await call(ts, 'GET', '/api/v1/audit?before=x', { token: admin.accessToken });
    expect(before.json!.error.message).toMatch(/^before must be an integer from 1 to \d+, got "x"$/);
    const page = await call(ts, 'GET', '/api/v1/audit', { token: admin.accessToken });
    expect(page.status).toBe(200);
    expect(page.json!.entries.length).toBeLessThanOrEqual(50);
    const doc = (await (await fetch(`${ts.url}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: unknown[] } }>;
    };
    expect(doc.paths['/api/v1/audit']!.get.parameters).toEqual([
      {
        name: 'limit',
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
        description: 'entries per page',
      },
      {
        name: 'before',
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
        description: 'entries older than this id: the nextBefore of the previous page',
      },
    ]);
  });
});

describe('one set of rules', () => {
  test("the wire formats' limits are the parts' limits", () => {
    expect(accounts.PASSWORD_LENGTH).toEqual({ min: PASSWORD_MIN, max: PASSWORD_MAX });
    expect([...accounts.ROLE_NAMES]).toEqual([...ROLES]);
    expect([...apps.SCOPE_NAMES]).toEqual([...SCOPES]);
    expect([...analytics.QOE_METRIC_NAMES]).toEqual([...QOE_METRICS]);
    expect([...errors.ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect(audit.GUEST_TOKEN_RULES).toEqual({
      resource: GUEST_RESOURCE,
      defaultTtlSec: GUEST_DEFAULT_TTL_SEC,
      maxTtlSec: GUEST_MAX_TTL_SEC,
    });
  });
});

describe('the dashboard and the server share types, not code', () => {
  const importsOf = (file: string) =>
    [...readFileSync(file, 'utf8').matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({
      typeOnly: m[2] !== undefined,
      from: m[3]!,
    }));
  const tsFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
    );

  test('web/ reaches into src/ only for the wire types, with type-only imports', () => {
    let seen = 0;
    for (const dir of ['web/src', 'web/player', 'web/sdk'])
      for (const file of tsFiles(path.join(root, dir)))
        for (const i of importsOf(file).filter((i) => i.from.includes('/src/') && !i.from.startsWith('./'))) {
          seen++;
          const where = `${path.relative(root, file)} imports ${i.from}`;
          expect(i.typeOnly, where).toBe(true);
          expect(path.relative(root, path.resolve(path.dirname(file), i.from)), where).toMatch(/^src\/wire\//);
        }
    expect(seen).toBeGreaterThan(0);
  });

  test('wire modules import nothing but TypeBox and each other, so the browser type-check loads no server code', () => {
    for (const file of tsFiles(path.join(root, 'src/wire')))
      for (const i of importsOf(file))
        expect(i.from === 'typebox' || /^\.\/[a-z-]+\.ts$/.test(i.from), `${path.basename(file)}: ${i.from}`).toBe(
          true,
        );
  });
});
