// Who may call what: every protected route, called by every kind of caller. Allowed callers get a 2xx;
// the others get the status the access rules name (401 without credentials that fit, 403 for a role or
// scope that is not enough). A route added without a row here fails the completeness check.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createUser, setupAdmin } from './helpers/accounts.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';
import { findFfmpeg, makeVideo, uploadFile, waitForVideo } from './media/media-helpers.ts';

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
  // Video playback: the URL's signature is the credential (test/media/signed-playback.test.ts); CORS preflights.
  'GET /media/:id/master.m3u8',
  'GET /media/:id/:dir/:file',
  'OPTIONS /media/**',
  'OPTIONS /api/v1/uploads',
  'OPTIONS /api/v1/uploads/:id',
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
    request: async () => ({ body: { resource: 'room:matrix' } }),
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
  // Video library (issue 10). A JSON body is not an upload: users get past the access check to 415 / tus's 412.
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
];

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
  tokens.guest = (await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin, body: { resource: 'room:matrix' } }))
    .json!.token;
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
