// Who may call what: every protected route, called by every kind of caller. Allowed callers get a 2xx;
// the others get the status the access rules name (401 without credentials that fit, 403 for a role or
// scope that is not enough). A route added without a row here fails the completeness check.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createUser, setupAdmin } from './helpers/accounts.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';
import { findFfmpeg, makeVideo, uploadFile, waitForVideo } from './media/media-helpers.ts';
import { openSocket } from './helpers/ws-client.ts';
import { playClosed, playStarted, postWebhook } from './engine/webhook-helpers.ts';

type Caller = 'anonymous' | 'admin' | 'member' | 'ingestKey' | 'readKey' | 'guest';
const CALLERS: Caller[] = ['anonymous', 'admin', 'member', 'ingestKey', 'readKey', 'guest'];

interface Row {
  method: string;
  path: string;
  allowed: Caller[];
  /** Builds the request (fresh targets for calls that consume them). */
  request?: (ts: TestServer) => Promise<{ path?: string; body?: unknown }>;
  /** Status for callers not allowed, where it differs from expectedDenial's rule. */
  denied?: Partial<Record<Caller, number>>;
}

/** Routes anyone may call: health, metrics, the API description, and the sign-in steps themselves. */
const PUBLIC = new Set([
  'GET /health',
  'GET /api/v1/health',
  'GET /metrics',
  'GET /openapi.json',
  'GET /api/v1/auth/status',
  'POST /api/v1/auth/setup',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/logout',
  // The dashboard's pages and files, and the live feed's health (counts only).
  'GET /**',
  'GET /ws/live/health',
  // The player pages (their API calls are checked, not the page) and the browser SDK script.
  'GET /watch/:id',
  'GET /embed/:id',
  'GET /sdk/m3w-web.js',
  // WebSocket routes answer a plain GET with 426; their callers are checked on the upgrade, with close codes
  // (test/web/live-feed.test.ts: "/ws/live authentication" and "/ws/live/{streamId}").
  'GET /ws/live',
  'GET /ws/live/:streamId',
  'GET /ws/rooms/:id',
  'GET /rooms/:id',
  // Video playback: the URL's signature is the credential (test/media/signed-playback.test.ts); CORS preflights.
  'GET /media/:id/master.m3u8',
  'GET /media/:id/:dir/:file',
  'OPTIONS /media/**',
  'OPTIONS /api/v1/uploads',
  'OPTIONS /api/v1/uploads/:id',
  // The CORS preflight of POST /v1/sessions needs no key (browsers send none); the POST is checked (test/cors.test.ts).
  'OPTIONS /v1/sessions',
]);

let ts: TestServer;
let admin: string;
const tokens: Partial<Record<Caller, string>> = {};
let seq = 0;

async function freshMember(): Promise<number> {
  const r = await call(ts, 'POST', '/api/v1/users', {
    token: admin,
    body: { email: `t${++seq}@example.com`, password: 'temporary password', role: 'member' },
  });
  return r.json!.id;
}
async function freshApp(): Promise<string> {
  const id = `app-${++seq}`;
  await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id } });
  return id;
}
async function freshKey(app = 'default'): Promise<string> {
  return (await call(ts, 'POST', `/api/v1/apps/${app}/keys`, { token: admin, body: { name: `k${++seq}` } })).json!
    .prefix;
}

// A receiver nobody listens on: test messages to it fail at once (connection refused), which is all these rows need.
const CHANNEL_BODY = { name: 'hook', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } };
const RULE_BODY = { name: 'failures', metric: 'playback_failure_pct', op: 'above', threshold: 5, windowMinutes: 5 };
async function freshChannel(app = 'default'): Promise<number> {
  return (
    await call(ts, 'POST', '/api/v1/notification-channels', { token: admin, body: { appId: app, ...CHANNEL_BODY } })
  ).json!.id;
}
async function freshRule(app = 'default'): Promise<number> {
  return (await call(ts, 'POST', '/api/v1/alert-rules', { token: admin, body: { appId: app, ...RULE_BODY } })).json!.id;
}

const USERS: Caller[] = ['admin', 'member'];
const ADMIN_ONLY: Caller[] = ['admin'];
const READERS: Caller[] = ['admin', 'member', 'readKey'];

const ROWS: Row[] = [
  {
    method: 'POST',
    path: '/v1/sessions',
    allowed: ['ingestKey'],
    request: async () => ({ body: sdkSession({ sessionId: `m${++seq}` }) }),
  },
  {
    method: 'GET',
    path: '/v1/sessions/:sessionId',
    allowed: ['ingestKey', 'readKey'],
    request: async () => ({ path: '/v1/sessions/seeded' }),
  },
  // Streaming-server analytics and QoE reads: signed-in users and read keys.
  {
    method: 'POST',
    path: '/api/webhook',
    allowed: ['ingestKey'],
    request: async () => ({
      body: { event: 'play_started', id: `p${++seq}`, time: new Date().toISOString(), media: 'ch1' },
    }),
  },
  { method: 'GET', path: '/stats/active', allowed: READERS },
  { method: 'GET', path: '/api/v1/streams', allowed: READERS },
  {
    method: 'GET',
    path: '/api/v1/streams/:channel/metrics',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/streams/ch1/metrics' }),
  },
  {
    method: 'GET',
    path: '/api/v1/stats/series',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/stats/series?dimension=global' }),
  },
  {
    method: 'GET',
    path: '/api/v1/streams/:channel/moments',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/streams/ch1/moments' }),
  },
  { method: 'GET', path: '/api/v1/moments', allowed: READERS },
  {
    method: 'GET',
    path: '/api/v1/qoe/timeseries',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/qoe/timeseries?app=default' }),
  },
  {
    method: 'GET',
    path: '/api/v1/qoe/breakdown',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/qoe/breakdown?app=default&dimension=country' }),
  },
  {
    method: 'GET',
    path: '/api/v1/qoe/breakdown.csv',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/qoe/breakdown.csv?app=default&dimension=country' }),
  },
  {
    method: 'GET',
    path: '/api/v1/sessions.csv',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/sessions.csv?app=default' }),
  },
  {
    method: 'GET',
    path: '/api/v1/qoe/summary',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/qoe/summary?app=default' }),
  },
  // Alerts: notification channels and rules (users of the app write, read keys read) and the history.
  { method: 'GET', path: '/api/v1/notification-channels', allowed: READERS },
  {
    method: 'POST',
    path: '/api/v1/notification-channels',
    allowed: USERS,
    // A public address (TEST-NET-3, never contacted): only admins may point a channel inside the network.
    request: async () => ({
      body: { appId: 'default', ...CHANNEL_BODY, config: { url: 'https://203.0.113.9/hook' } },
    }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/notification-channels/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/notification-channels/${await freshChannel()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/notification-channels/:id/test',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/notification-channels/${await freshChannel()}/test` }),
  },
  { method: 'GET', path: '/api/v1/alert-rules', allowed: READERS },
  {
    method: 'POST',
    path: '/api/v1/alert-rules',
    allowed: USERS,
    request: async () => ({ body: { appId: 'default', ...RULE_BODY } }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/alert-rules/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/alert-rules/${await freshRule()}`, body: { threshold: 7 } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/alert-rules/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/alert-rules/${await freshRule()}` }),
  },
  {
    method: 'GET',
    path: '/api/v1/alerts',
    allowed: READERS,
    request: async () => ({ path: '/api/v1/alerts?app=default' }),
  },
  { method: 'GET', path: '/api/v1/me', allowed: USERS },
  {
    method: 'POST',
    path: '/api/v1/me/password',
    allowed: [],
    request: async () => ({ body: { currentPassword: 'not the password', newPassword: 'long enough password' } }),
    denied: { admin: 403, member: 403 },
  },
  { method: 'POST', path: '/api/v1/ws-ticket', allowed: USERS },
  { method: 'GET', path: '/api/v1/users', allowed: ADMIN_ONLY },
  {
    method: 'POST',
    path: '/api/v1/users',
    allowed: ADMIN_ONLY,
    request: async () => ({ body: { email: `n${++seq}@example.com`, password: 'new user password' } }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/users/:id',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/users/${await freshMember()}`, body: { disabled: true } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/users/:id',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/users/${await freshMember()}` }),
  },
  {
    method: 'PUT',
    path: '/api/v1/users/:id/apps/:appId',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/users/${await freshMember()}/apps/default` }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/users/:id/apps/:appId',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/users/${await freshMember()}/apps/default` }),
  },
  { method: 'GET', path: '/api/v1/apps', allowed: USERS },
  {
    method: 'POST',
    path: '/api/v1/apps',
    allowed: ADMIN_ONLY,
    request: async () => ({ body: { id: `new-${++seq}` } }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/:id',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: '/api/v1/apps/default', body: { name: 'Default app' } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/:id',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/apps/${await freshApp()}` }),
  },
  {
    method: 'GET',
    path: '/api/v1/apps/:id/keys',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: '/api/v1/apps/default/keys' }),
  },
  {
    method: 'POST',
    path: '/api/v1/apps/:id/keys',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: '/api/v1/apps/default/keys', body: { name: 'matrix' } }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/:id/keys/:prefix',
    allowed: ADMIN_ONLY,
    request: async () => ({
      path: `/api/v1/apps/default/keys/${await freshKey()}`,
      body: { allowedOrigins: ['https://shop.example.com'] },
    }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/:id/keys/:prefix',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/apps/default/keys/${await freshKey()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/apps/:id/keys/:prefix/rotate',
    allowed: ADMIN_ONLY,
    request: async () => ({ path: `/api/v1/apps/default/keys/${await freshKey()}/rotate` }),
  },
  { method: 'GET', path: '/api/v1/audit', allowed: ADMIN_ONLY },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens',
    allowed: USERS,
    request: async () => ({ body: { resource: `room:${await matrixRoom()}` } }),
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens/revoke',
    allowed: USERS,
    request: async () => {
      const resource = `room:${await matrixRoom()}`;
      const issued = await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin, body: { resource } });
      return { body: { token: issued.json!.token } };
    },
  },
  // Dashboard
  {
    method: 'GET',
    path: '/api/v1/sessions',
    allowed: [...USERS, 'readKey'],
    request: async () => ({ path: '/api/v1/sessions?app=default' }),
  },
  {
    method: 'GET',
    path: '/api/v1/sessions/:sessionId',
    allowed: [...USERS, 'readKey'],
    request: async () => ({ path: '/api/v1/sessions/seeded?app=default' }),
  },
  { method: 'GET', path: '/api/v1/server-info', allowed: [...USERS, 'readKey'] },
  // Video library. A JSON body is not an upload: users get past the access check to 415 / tus's 412.
  { method: 'POST', path: '/api/v1/videos', allowed: [], denied: { admin: 415, member: 415 } },
  {
    method: 'GET',
    path: '/api/v1/videos',
    allowed: USERS,
    request: async () => ({ path: '/api/v1/videos?app=default' }),
  },
  {
    method: 'GET',
    path: '/api/v1/videos/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/videos/${await uploadingVideo()}` }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/videos/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/videos/${await uploadingVideo()}`, body: { title: 'Renamed' } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/videos/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/videos/${await uploadingVideo()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/videos/:id/retry',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/videos/${await uploadingVideo()}/retry` }),
  },
  {
    method: 'POST',
    path: '/api/v1/videos/:id/playback',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/videos/${await readyVideo()}/playback` }),
  },
  { method: 'POST', path: '/api/v1/uploads', allowed: [], denied: { admin: 412, member: 412 } },
  ...(['HEAD', 'PATCH', 'DELETE'] as const).map((method) => ({
    method,
    path: '/api/v1/uploads/:id',
    allowed: [] as Caller[],
    request: async () => ({ path: `/api/v1/uploads/${await uploadingVideo()}` }),
    denied: { admin: 412, member: 412 },
  })),
  // Watch-party rooms.
  {
    method: 'POST',
    path: '/api/v1/rooms',
    allowed: USERS,
    request: async () => ({ body: { name: 'Matrix room', videoId: await uploadingVideo() } }),
  },
  {
    method: 'GET',
    path: '/api/v1/rooms',
    allowed: USERS,
    request: async () => ({ path: '/api/v1/rooms?app=default' }),
  },
  {
    method: 'GET',
    path: '/api/v1/rooms/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/rooms/${await matrixRoom()}` }),
  },
  {
    method: 'PUT',
    path: '/api/v1/rooms/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/rooms/${await matrixRoom()}`, body: { locked: true } }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/rooms/:id',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/rooms/${await matrixRoom()}` }),
  },
  {
    method: 'POST',
    path: '/api/v1/rooms/:id/invites',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/rooms/${await matrixRoom()}/invites`, body: { displayName: 'Ann' } }),
  },
  {
    method: 'POST',
    path: '/api/v1/rooms/:id/playback',
    allowed: USERS,
    request: async () => ({ path: `/api/v1/rooms/${await matrixRoom(await readyVideo())}/playback` }),
  },
];

/** A room in the default app (created by the admin through the API). */
async function matrixRoom(videoId?: string): Promise<string> {
  const r = await call(ts, 'POST', '/api/v1/rooms', {
    token: admin,
    body: { name: `room ${++seq}`, videoId: videoId ?? (await uploadingVideo()) },
  });
  return r.json!.id as string;
}

/** A video row still uploading (tus), in the default app. */
async function uploadingVideo(): Promise<string> {
  const id = `matrixvideo${++seq}`;
  await ts.server.store.videos.createVideo({
    id,
    appId: 'default',
    title: 'matrix',
    status: 'uploading',
    uploadLength: 10,
    createdAt: Date.now(),
  });
  return id;
}

/** A real, playable video (uploaded and transcoded once). */
let ready: Promise<string> | undefined;
function readyVideo(): Promise<string> {
  ready ??= (async () => {
    const ff = await findFfmpeg();
    if (!ff) throw new Error('the playback row needs ffmpeg');
    const file = await makeVideo(ff.ffmpeg.path, makeTempDir('m3w-matrix-'), 'm', {
      width: 160,
      height: 90,
      seconds: 1,
    });
    const id = (await uploadFile(ts, admin, file, { appId: 'default' })).json.id as string;
    await waitForVideo(ts, admin, id);
    return id;
  })();
  return ready;
}

/** The default refusal: no usable credentials → 401; a signed-in user or key without the right → 403. */
function expectedDenial(row: Row, caller: Caller): number {
  if (row.denied?.[caller] !== undefined) return row.denied[caller]!;
  if (caller === 'anonymous' || caller === 'guest') return 401;
  const keysOnly = row.allowed.every((c) => c === 'ingestKey' || c === 'readKey');
  if ((caller === 'admin' || caller === 'member') && keysOnly) return 401;
  if (caller === 'ingestKey' || caller === 'readKey')
    return row.allowed.some((c) => c === 'ingestKey' || c === 'readKey') ? 403 : 401;
  return 403;
}

beforeAll(async () => {
  ts = await startTestServer();
  admin = (await setupAdmin(ts)).accessToken;
  tokens.admin = admin;
  tokens.member = (await createUser(ts, admin, 'member@example.com', 'member', ['default'])).accessToken;
  tokens.ingestKey = ts.apiKey;
  tokens.readKey = (
    await call(ts, 'POST', '/api/v1/apps/default/keys', { token: admin, body: { name: 'reader', scopes: ['read'] } })
  ).json!.key;
  tokens.guest = (
    await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin, body: { resource: `room:${await matrixRoom()}` } })
  ).json!.token;
  expect((await postSessions(ts.url, sdkSession({ sessionId: 'seeded' }), { key: ts.apiKey })).status).toBe(200);
});
afterAll(async () => {
  await ts.close();
});

describe('access matrix', () => {
  test('every protected route has a row', () => {
    const listed = new Set(ROWS.map((r) => `${r.method} ${r.path}`));
    const missing = ts.server.http.routes
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !PUBLIC.has(r) && !listed.has(r));
    expect(missing).toEqual([]);
  });

  for (const row of ROWS)
    test(`${row.method} ${row.path}`, async () => {
      for (const caller of CALLERS) {
        const req = row.request ? await row.request(ts) : {};
        const credential = tokens[caller];
        const opts = caller === 'ingestKey' || caller === 'readKey' ? { key: credential } : { token: credential };
        const r = await call(ts, row.method, req.path ?? row.path, { ...opts, body: req.body });
        if (row.allowed.includes(caller)) expect(r.status, `${caller}: ${JSON.stringify(r.json)}`).toBeLessThan(300);
        else expect(r.status, `${caller}: ${JSON.stringify(r.json)}`).toBe(expectedDenial(row, caller));
      }
    });
});

// Streaming analytics across apps: the callers above belong to the default app (A); app B has its own ingest
// key and viewers. A's read key, ingest key and member never see, follow or change B's streams: naming B answers
// 404 (as for an app that does not exist), B's topics close with 4403, and A's events never touch B's plays.
describe('access matrix: app A callers against app B streams', () => {
  const B = 'matrix-b';
  let ingestB: string;
  let readB: string;
  beforeAll(async () => {
    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: B } });
    const key = async (scopes: string[]) =>
      (await call(ts, 'POST', `/api/v1/apps/${B}/keys`, { token: admin, body: { name: `b${++seq}`, scopes } })).json!
        .key as string;
    ingestB = await key(['ingest']);
    readB = await key(['read']);
    const now = Date.now();
    const plays = ['b-play-1', 'b-play-2'].map((id) => playStarted(id, now, { media: 'bnews', server: 'b-srv' }));
    expect((await postWebhook(ts.url, plays, ingestB)).status).toBe(200);
  });

  const STREAM_PATHS = [
    '/stats/active',
    '/api/v1/streams',
    '/api/v1/streams/bnews/metrics',
    '/api/v1/streams/bnews/moments',
    '/api/v1/stats/series?dimension=channel&value=bnews',
    '/api/v1/qoe/summary',
  ];
  const withApp = (path: string, app: string) => `${path}${path.includes('?') ? '&' : '?'}app=${app}`;

  for (const path of STREAM_PATHS)
    test(`GET ${path} naming app B`, async () => {
      const target = withApp(path, B);
      for (const caller of ['readKey', 'member'] as const) {
        const opts = caller === 'readKey' ? { key: tokens.readKey } : { token: tokens.member };
        const r = await call(ts, 'GET', target, opts);
        expect(r.status, `${caller} ${target}`).toBe(404);
        expect(r.json!.error.code).toBe('NOT_FOUND');
      }
      expect((await call(ts, 'GET', target, { key: tokens.ingestKey })).status, 'ingestKey').toBe(403);
      // Without naming an app, A's callers read A: nothing of B's.
      for (const opts of [{ key: tokens.readKey }, { token: tokens.member }]) {
        const own = await call(ts, 'GET', path, opts);
        expect(own.status).toBe(200);
        expect(JSON.stringify(own.json)).not.toMatch(/b-srv|"bnews":\d|"channel":"bnews","viewers"/);
        // A has no "bnews": its figures for that name are all zero, whatever B's viewers.
        for (const p of (own.json!.points ?? []) as Array<{ peak_concurrent: number }>)
          expect(p.peak_concurrent).toBe(0);
      }
      // B's own reader is served.
      expect((await call(ts, 'GET', target, { key: readB })).status).toBe(200);
    });

  for (const topic of [`active:${B}`, `stream:${B}:bnews`])
    test(`topic ${topic}`, async () => {
      const ws = ts.url.replace('http', 'ws');
      const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: tokens.member })).json!.ticket as string;
      for (const [who, url, headers, code] of [
        ['readKey', `${ws}/ws/live`, { 'x-api-key': tokens.readKey! }, 4403],
        ['member', `${ws}/ws/live?ticket=${encodeURIComponent(ticket)}`, {}, 4403],
        ['ingestKey', `${ws}/ws/live`, { 'x-api-key': tokens.ingestKey! }, 4401],
      ] as const) {
        const c = await openSocket(url, headers);
        c.send({ type: 'subscribe', topic });
        expect((await c.closed).code, who).toBe(code);
        expect(
          c.messages.some((m) => m.type === 'update'),
          who,
        ).toBe(false);
      }
    });

  test('legacy /ws/live/{streamId} for app B', async () => {
    const ws = ts.url.replace('http', 'ws');
    const byKey = await openSocket(`${ws}/ws/live/bnews?app=${B}`, { 'x-api-key': tokens.readKey! });
    expect((await byKey.closed).code).toBe(4403);
    const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: tokens.member })).json!.ticket as string;
    const byMember = await openSocket(`${ws}/ws/live/bnews?app=${B}&ticket=${encodeURIComponent(ticket)}`);
    expect((await byMember.closed).code).toBe(4403);
    // Without ?app= the key follows its own app's "bnews": nobody watching there.
    const own = await openSocket(`${ws}/ws/live/bnews`, { 'x-api-key': tokens.readKey! });
    expect(await own.next((m) => m.type === 'metrics')).toMatchObject({ viewers: 0 });
    own.close();
    await own.closed;
  });

  test("A's ingest key closes B's play: not accepted for B, B's viewers unchanged", async () => {
    const before = (await call(ts, 'GET', '/stats/active', { key: readB })).json!;
    expect(before.total).toBe(2);
    const r = await postWebhook(
      ts.url,
      playClosed('b-play-1', Date.now() - 1000, Date.now(), { media: 'bnews' }),
      tokens.ingestKey!,
    );
    expect(r.status).toBe(200);
    expect((await call(ts, 'GET', '/stats/active', { key: readB })).json).toEqual(before);
    expect(await ts.server.store.getPlaySession(B, 'b-play-1')).toMatchObject({ closedAt: null });
    // B's own close is accepted.
    const own = await postWebhook(
      ts.url,
      playClosed('b-play-1', Date.now() - 1000, Date.now(), { media: 'bnews' }),
      ingestB,
    );
    expect(await own.json()).toMatchObject({ accepted: 1 });
    expect((await call(ts, 'GET', '/stats/active', { key: readB })).json!.total).toBe(1);
  });
});

// Alerts across apps: app A's member and read key never see, change or test app B's rules and channels (404, as
// for ones that do not exist), and cannot point A's rules at B's channels.
describe('access matrix: app A callers against app B alerts', () => {
  const B = 'matrix-alerts-b';
  let channelB: number;
  let ruleB: number;
  beforeAll(async () => {
    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: B } });
    channelB = await freshChannel(B);
    ruleB = await freshRule(B);
  });

  test("B's rules, channels and history answer 404 to A's callers", async () => {
    for (const opts of [{ key: tokens.readKey }, { token: tokens.member }]) {
      for (const path of [
        `/api/v1/alert-rules?app=${B}`,
        `/api/v1/notification-channels?app=${B}`,
        `/api/v1/alerts?app=${B}`,
      ]) {
        const r = await call(ts, 'GET', path, opts);
        expect(r.status, path).toBe(404);
      }
    }
    const m = { token: tokens.member };
    expect((await call(ts, 'PATCH', `/api/v1/alert-rules/${ruleB}`, { ...m, body: { threshold: 1 } })).status).toBe(
      404,
    );
    expect((await call(ts, 'DELETE', `/api/v1/alert-rules/${ruleB}`, m)).status).toBe(404);
    expect((await call(ts, 'DELETE', `/api/v1/notification-channels/${channelB}`, m)).status).toBe(404);
    expect((await call(ts, 'POST', `/api/v1/notification-channels/${channelB}/test`, m)).status).toBe(404);
    expect((await call(ts, 'POST', '/api/v1/alert-rules', { ...m, body: { appId: B, ...RULE_BODY } })).status).toBe(
      404,
    );
    expect(
      (await call(ts, 'POST', '/api/v1/notification-channels', { ...m, body: { appId: B, ...CHANNEL_BODY } })).status,
    ).toBe(404);
    // A rule of A cannot send to B's channel.
    const cross = await call(ts, 'POST', '/api/v1/alert-rules', {
      ...m,
      body: { appId: 'default', ...RULE_BODY, channelIds: [channelB] },
    });
    expect(cross.status).toBe(400);
    expect(cross.json!.error.message).toMatch(/channelIds/);
    // Nothing of B's changed, and A's lists hold nothing of B's.
    const own = await call(ts, 'GET', '/api/v1/alert-rules?app=default', { key: tokens.readKey });
    expect(own.json!.rules.some((r: { id: number }) => r.id === ruleB)).toBe(false);
    const rulesB = await call(ts, 'GET', `/api/v1/alert-rules?app=${B}`, { token: admin });
    expect(rulesB.json!.rules).toEqual([expect.objectContaining({ id: ruleB, threshold: 5 })]);
  });
});
