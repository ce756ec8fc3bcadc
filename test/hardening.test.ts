// The hostile review's smaller findings (limits, headers, throttles, file modes), one behaviour each, against a real server:
// tokens that never expire, reused WebSocket tickets, secrets in paths and logs, app deletion leftovers,
// login lock-outs, file modes, security headers, the Host header, per-user limits and the banner.
import { chmodSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SignJWT } from 'jose';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuilt } from '../build/web.ts';
import { ADMIN, CookieClient, call, setupAdmin, type Tokens } from './helpers/accounts.ts';
import { runCli, spawnServer } from './helpers/child.ts';
import { sql } from './helpers/db.ts';
import {
  makeTempDir,
  postSessions,
  sdkSession,
  sqliteOnly,
  startTestServer,
  type TestServer,
} from './helpers/server.ts';
import { openSocket } from './helpers/ws-client.ts';

let ts: TestServer;
let admin: Tokens;
beforeAll(async () => {
  await ensureWebBuilt(); // the HTML pages' headers are checked too, so the dashboard must be there
  ts = await startTestServer();
  admin = await setupAdmin(ts);
});
afterAll(() => ts.close());

const wsUrl = (s: TestServer, query: string) => `${s.url.replace('http', 'ws')}/ws/live?${query}`;

describe('signed tokens', () => {
  /** A token signed with the server's real key, with the claims chosen by the test. */
  async function forge(claims: { exp?: boolean; iat?: boolean }): Promise<string> {
    const key = createPrivateKey(readFileSync(path.join(ts.dir, 'auth-ed25519.pem'), 'utf8'));
    const jwt = new SignJWT({ role: 'admin', sid: sessionId() })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer('m3w')
      .setAudience('m3w:access')
      .setSubject(String(admin.user.id))
      .setJti(randomUUID());
    if (claims.iat !== false) jwt.setIssuedAt();
    if (claims.exp !== false) jwt.setExpirationTime('10m');
    return jwt.sign(key);
  }
  function sessionId(): string {
    const payload = JSON.parse(Buffer.from(admin.accessToken.split('.')[1]!, 'base64url').toString('utf8'));
    return payload.sid as string;
  }

  test('an access token signed with the real key is refused without exp or without iat', async () => {
    expect((await call(ts, 'GET', '/api/v1/me', { token: await forge({}) })).status).toBe(200);
    const noExp = await call(ts, 'GET', '/api/v1/me', { token: await forge({ exp: false }) });
    expect(noExp.status).toBe(401);
    expect(noExp.json!.error.code).toBe('UNAUTHORIZED');
    expect((await call(ts, 'GET', '/api/v1/me', { token: await forge({ iat: false }) })).status).toBe(401);
  });

  test('a WebSocket ticket opens one connection only', async () => {
    const { ticket } = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: admin.accessToken })).json!;
    const first = await openSocket(wsUrl(ts, `ticket=${encodeURIComponent(ticket)}`));
    await first.next((m) => m.type === 'welcome');
    const second = await openSocket(wsUrl(ts, `ticket=${encodeURIComponent(ticket)}`));
    const timeout = new Promise<{ code: number }>((resolve) => setTimeout(() => resolve({ code: 0 }), 5000));
    expect((await Promise.race([second.closed, timeout])).code).toBe(4401);
    second.close();
    first.close();
  });
});

describe('webhook events', () => {
  test('an event nested thousands deep is rejected with a message naming the field, like the SDK route', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const body = `[{"event":"play_started","id":"deep-1","time":"2025-11-24T11:10:26.498Z","extra":${deep}}]`;
    const res = await fetch(`${ts.url}/api/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ts.apiKey },
      body,
    });
    const text = await res.text();
    expect(text).not.toMatch(/call stack/i);
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      accepted: 0,
      duplicates: 0,
      rejected: [{ index: 0, error: 'extra: must not be nested more than 16 levels deep' }],
    });
  });
});

describe('security headers', () => {
  const expectHeaders = (headers: Headers, html: boolean) => {
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    const csp = headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(html ? "script-src 'self'" : "default-src 'none'");
  };

  test('every response carries them: JSON, errors of each kind, 404, and HTML pages', async () => {
    const responses = [
      await fetch(`${ts.url}/health`),
      await fetch(`${ts.url}/api/v1/me`),
      await fetch(`${ts.url}/no/such/route`),
      await fetch(`${ts.url}/v1/sessions`, { method: 'POST', headers: { 'x-api-key': ts.apiKey }, body: 'x' }),
      await fetch(`${ts.url}/openapi.json`),
    ];
    for (const r of responses) expectHeaders(r.headers, false);
    const page = await fetch(`${ts.url}/login`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expectHeaders(page.headers, true);
  });
});

test('a route listed as frameable drops X-Frame-Options and names its frame-ancestors', async () => {
  const { applySecurityHeaders } = await import('../src/http/security-headers.ts');
  const headers = new Headers({ 'content-type': 'text/html; charset=utf-8' });
  applySecurityHeaders(headers, '/embed/:id', new Map([['/embed/:id', '*']]));
  expect(headers.get('x-frame-options')).toBeNull();
  expect(headers.get('content-security-policy')).toContain('frame-ancestors *');
  expect(headers.get('content-security-policy')).not.toContain("frame-ancestors 'none'");
  applySecurityHeaders(headers, '/login', new Map([['/embed/:id', '*']]));
  expect(headers.get('x-frame-options')).toBe('DENY');
});

describe('API keys in paths', () => {
  test('a whole key in place of the prefix is refused with 400, never echoed or logged', async () => {
    const created = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'path test' },
    });
    const key = created.json!.key as string;
    const chosen = 'my-chosen-secret-key-123';
    const requestIds: string[] = [];
    for (const [method, p] of [
      ['POST', `/api/v1/apps/default/keys/${key}/rotate`],
      ['DELETE', `/api/v1/apps/default/keys/${key}`],
      ['POST', `/api/v1/apps/default/keys/${chosen}/rotate`],
    ] as const) {
      const requestId = `whole-key-${randomUUID()}`;
      requestIds.push(requestId);
      const r = await call(ts, method, p, { token: admin.accessToken, headers: { 'x-request-id': requestId } });
      expect(r.status, p).toBe(400);
      expect(r.json!.error.code).toBe('INVALID_SCHEMA');
      expect(JSON.stringify(r.json)).not.toContain(key.slice(13));
      expect(JSON.stringify(r.json)).not.toContain(chosen);
    }
    await ts.server.logger.flush(); // every line of the refused calls is in, so their absence means something
    // The control: each refused call's own request line is there, with its 400.
    for (const requestId of requestIds)
      expect(ts.logs.filter((l) => l.reqId === requestId).map((l) => l.status)).toEqual([400]);
    expect(ts.logText()).not.toContain(key.slice(13));
    expect(ts.logText()).not.toContain(chosen);
    // The public prefix still works, and the key was not rotated or revoked by the refused calls.
    const ok = await call(ts, 'POST', `/api/v1/apps/default/keys/${created.json!.prefix}/rotate`, {
      token: admin.accessToken,
    });
    expect(ok.status).toBe(201);
  });
});

describe('request log', () => {
  const requestLines = () => ts.logs.filter((l) => l.msg === 'request');

  test('a huge path and user agent make a bounded log line', async () => {
    const longPath = `/long/${'p'.repeat(15_000)}`;
    const r = await fetch(ts.url + longPath, { headers: { 'user-agent': 'U'.repeat(800) } });
    expect(r.status).toBe(404);
    // The log is written asynchronously: wait for this request's line rather than a fixed time.
    await expect
      .poll(() => requestLines().some((l) => String(l.path).startsWith('/long/')), { timeout: 5000 })
      .toBe(true);
    const line = requestLines().find((l) => String(l.path).startsWith('/long/'));
    expect(JSON.stringify(line).length).toBeLessThan(1000);
    expect(String(line!.ua)).toMatch(/^U{256}…\(800 chars\)$/);
  });

  test('a flood of rejected requests is sampled, and the log says how many were left out', async () => {
    const before = requestLines().length;
    for (let i = 0; i < 250; i++) await fetch(`${ts.url}/flood/${i}`, { method: 'DELETE' });
    // Then one request that is always logged (a success): once its line is written, so are the flood's.
    expect((await call(ts, 'GET', '/api/v1/me', { token: admin.accessToken })).status).toBe(200);
    await expect
      .poll(
        () =>
          requestLines()
            .slice(before)
            .some((l) => l.route === '/api/v1/me'),
        { timeout: 5000 },
      )
      .toBe(true);
    const flood = requestLines()
      .slice(before)
      .filter((l) => String(l.path).startsWith('/flood/'));
    expect(flood.length).toBeGreaterThanOrEqual(10);
    expect(flood.length).toBeLessThanOrEqual(15);
    const suppressed = flood.reduce((n, l) => n + Number(l.suppressed ?? 0), 0);
    expect(suppressed + flood.length).toBe(200); // the last 50 are counted in the next line logged
    // Successful requests are never sampled.
    const beforeOk = requestLines().length;
    for (let i = 0; i < 20; i++) await call(ts, 'GET', '/api/v1/me', { token: admin.accessToken });
    await expect
      .poll(
        () =>
          requestLines()
            .slice(beforeOk)
            .filter((l) => l.route === '/api/v1/me').length,
        { timeout: 5000 },
      )
      .toBeGreaterThanOrEqual(20);
    expect(
      requestLines()
        .slice(beforeOk)
        .filter((l) => l.route === '/api/v1/me'),
    ).toHaveLength(20);
  });
});

describe('server-info', () => {
  const info = async (s: TestServer, host: string) => {
    // fetch() will not send another Host header; node:http will.
    const key = await readKey(s);
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${s.url}/api/v1/server-info`, { headers: { 'x-api-key': key, host } }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(data) : reject(new Error(`${res.statusCode} ${data}`))));
      });
      req.on('error', reject);
    });
    return JSON.parse(text) as { urls: string[]; ingestUrl: string; webhookUrl: string };
  };
  async function readKey(s: TestServer): Promise<string> {
    const token = s === ts ? admin.accessToken : (await setupAdmin(s)).accessToken;
    const r = await call(s, 'POST', '/api/v1/apps/default/keys', { token, body: { name: 'r', scopes: ['read'] } });
    return r.json!.key as string;
  }

  test('never echoes the Host header; uses the listening address', async () => {
    const body = await info(ts, 'evil.example.com');
    expect(JSON.stringify(body)).not.toContain('evil.example.com');
    expect(body.ingestUrl).toBe(`${ts.url}/v1/sessions`);
  });

  test('uses publicUrl when configured', async () => {
    const s = await startTestServer({ publicUrl: 'https://m3w.example.org/' });
    try {
      const body = await info(s, 'evil.example.com');
      expect(body.ingestUrl).toBe('https://m3w.example.org/v1/sessions');
      expect(body.webhookUrl).toBe('https://m3w.example.org/api/webhook');
      expect(body.urls[0]).toBe('https://m3w.example.org');
      expect(JSON.stringify(body)).not.toContain('evil');
    } finally {
      await s.close();
    }
  });
});

describe('per-user rate limit', () => {
  test('a signed-in user gets the request limit too, shared by bearer tokens and cookies', async () => {
    const s = await startTestServer({ rateLimit: { requests: 6, windowSec: 60 } });
    try {
      const tokens = await setupAdmin(s);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await call(s, 'GET', '/api/v1/me', { token: tokens.accessToken })).status);
      const cookies = new CookieClient(s);
      expect((await cookies.call('POST', '/api/v1/auth/login', { body: { ...ADMIN, session: 'cookie' } })).status).toBe(
        200,
      );
      for (let i = 0; i < 3; i++) statuses.push((await cookies.call('GET', '/api/v1/me')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
      const limited = await call(s, 'GET', '/api/v1/me', { token: tokens.accessToken });
      expect(limited.status).toBe(429);
      expect(limited.json!.error.code).toBe('RATE_LIMIT_EXCEEDED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});

describe('login throttle', () => {
  const from = (address: string) => ({ 'x-forwarded-for': address });

  test('guessing from one address slows only that address: the real user still signs in from theirs', async () => {
    const s = await startTestServer({ trustProxy: true });
    try {
      await setupAdmin(s);
      const attacker: number[] = [];
      for (let i = 0; i < 8; i++)
        attacker.push(
          (
            await call(s, 'POST', '/api/v1/auth/login', {
              body: { email: ADMIN.email, password: `guess number ${i}` },
              headers: from('203.0.113.7'),
            })
          ).status,
        );
      expect(attacker.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(attacker.slice(5)).toEqual([429, 429, 429]);
      const blocked = await call(s, 'POST', '/api/v1/auth/login', { body: ADMIN, headers: from('203.0.113.7') });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      const real = await call(s, 'POST', '/api/v1/auth/login', { body: ADMIN, headers: from('198.51.100.20') });
      expect(real.status).toBe(200);
      // The per-address cap across emails still holds.
      const spray: number[] = [];
      for (let i = 0; i < 21; i++)
        spray.push(
          (
            await call(s, 'POST', '/api/v1/auth/login', {
              body: { email: `u${i}@example.com`, password: 'wrong password' },
              headers: from('192.0.2.1'),
            })
          ).status,
        );
      expect(spray.slice(0, 20).every((c) => c === 401)).toBe(true);
      expect(spray[20]).toBe(429);
    } finally {
      await s.close();
    }
  });

  test('the delay grows with each failure after the free ones', async () => {
    const { LoginThrottle } = await import('../src/auth/index.ts');
    let now = 1_000_000;
    const t = new LoginThrottle(undefined, () => now);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      waits.push(t.retryAfter('a@b.c', '1.2.3.4'));
      now += waits[i]! * 1000;
      t.begin('a@b.c', '1.2.3.4');
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 15, 30, 60]);
    expect(t.retryAfter('a@b.c', '5.6.7.8')).toBe(0);
  });

  test('POST /me/password: wrong current passwords are throttled per user and audited', async () => {
    const s = await startTestServer();
    try {
      const tokens = await setupAdmin(s);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (
            await call(s, 'POST', '/api/v1/me/password', {
              token: tokens.accessToken,
              body: { currentPassword: `wrong guess ${i}`, newPassword: 'a brand new password' },
            })
          ).status,
        );
      expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429]);
      // Even the right password waits now: a guesser cannot tell.
      const right = await call(s, 'POST', '/api/v1/me/password', {
        token: tokens.accessToken,
        body: { currentPassword: ADMIN.password, newPassword: 'a brand new password' },
      });
      expect(right.status).toBe(429);
      const audit = await call(s, 'GET', '/api/v1/audit?limit=100', { token: tokens.accessToken });
      const failed = (audit.json!.entries as Array<{ action: string }>).filter(
        (e) => e.action === 'password_change_failed',
      );
      expect(failed).toHaveLength(5);
    } finally {
      await s.close();
    }
  });
});

describe('deleting an app', () => {
  test('removes its sessions, rollups and moments in one go; a new app with the same id inherits nothing', async () => {
    const app = 'doomed';
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: app } })).status).toBe(201);
    const key = (await call(ts, 'POST', `/api/v1/apps/${app}/keys`, { token: admin.accessToken, body: { name: 'k' } }))
      .json!.key as string;
    const posted = await postSessions(ts.url, sdkSession({ sessionId: 'doomed-1', timestamp: Date.now() }), { key });
    expect(posted.status).toBe(200);
    await ts.server.store.saveMoment({
      id: 0,
      appId: app,
      kind: 'spike',
      metric: 'errorRate',
      dimension: 'global',
      value: '',
      startedAt: Date.now() - 120_000,
      endedAt: Date.now() - 60_000,
      peakValue: 1,
      baseline: 0,
      zScore: 9,
      threshold: 3,
    });
    // Counted in the database itself (SQLite file or Postgres schema), not through the API that deleted them.
    const owned = async () => {
      const out: boolean[] = [];
      for (const t of ['sessions', 'qoe_minutes', 'qoe_hours', 'moments'])
        out.push(
          ((await sql(ts.config, `SELECT count(*) AS n FROM ${t} WHERE app_id = ?`, [app]))[0]!.n as number) > 0,
        );
      return out;
    };
    // The SQLite writer keeps rollup deltas in memory for a moment; a read through the store writes them first.
    await ts.server.store.qoeRows(60_000, app, 'global', '', 0, Date.now() + 3_600_000);
    expect(await owned()).toEqual([true, true, true, true]);
    expect((await call(ts, 'DELETE', `/api/v1/apps/${app}`, { token: admin.accessToken })).status).toBe(204);
    expect(await owned()).toEqual([false, false, false, false]);
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: app } })).status).toBe(201);
    expect(await owned()).toEqual([false, false, false, false]);
  });
});

describe('file modes', () => {
  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

  test.skipIf(!sqliteOnly('file modes of the SQLite database, its WAL, shm, lock and file backup'))(
    'the data directory is 0700 and every file m3w writes in it 0600, whatever the umask; doctor warns otherwise',
    async () => {
      const dir = makeTempDir();
      chmodSync(dir, 0o755); // as a mkdir under umask 022 would leave it
      const s = await startTestServer({}, dir);
      try {
        await postSessions(s.url, sdkSession(), { key: s.apiKey });
        const db = s.config.databasePath;
        expect(mode(dir)).toBe('700');
        for (const file of [db, `${db}-wal`, `${db}-shm`, `${db}.lock`, path.join(dir, 'auth-ed25519.pem')])
          expect([file, mode(file)]).toEqual([file, '600']);
        const backup = path.join(dir, 'backup.db');
        await s.server.store.backup(backup);
        expect(mode(backup)).toBe('600');
        // Everything below the data directory, media folders included: folders 0700, files 0600.
        for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
          const full = path.join(entry.parentPath, entry.name);
          expect([full, mode(full)]).toEqual([full, entry.isDirectory() ? '700' : '600']);
        }
      } finally {
        await s.server.close();
      }
      const healthy = runCli(['doctor', '--port', '0', '--data-dir', dir], { cwd: dir });
      expect(healthy.stdout).toContain('is private to this user');
      chmodSync(path.join(dir, 'm3w.db'), 0o644);
      const loose = runCli(['doctor', '--port', '0', '--data-dir', dir], { cwd: dir });
      expect(loose.stdout).toMatch(/warn {2}readable by other users: .*m3w\.db \(0644\)/);
      expect(loose.stdout).toContain('chmod -R go-rwx');
      rmSync(dir, { recursive: true, force: true });
    },
  );
});

describe('start-up banner', () => {
  test('the first ingest key goes to a terminal only; piped to a log, the banner says how to make one', async () => {
    const dir = makeTempDir();
    const server = await spawnServer({ cwd: dir });
    try {
      const out = server.output();
      expect(out).not.toMatch(/m3w_[0-9a-f]{8}_/);
      expect(out).toContain('m3w apikey create --name');
      expect(out).toContain('/setup#'); // the setup link is still shown: it is how a headless install starts
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
    const { banner } = await import('../src/cli/banner.ts');
    const shown = banner({
      version: 'test',
      config: ts.config,
      port: 8080,
      createdKey: 'm3w_0123abcd_secret',
      setupToken: null,
      interactive: true,
    });
    expect(shown.text).toContain('m3w_0123abcd_secret');
  });
});

describe('text holding the NUL character', () => {
  // Postgres cannot store or compare text holding U+0000: on it these were 503 "database unavailable" (and an
  // error logged each time). They are the caller's fault on either adapter: never a 5xx, never half-written.
  test('query parameters are a 400 naming the parameter; bodies and paths are refused or answered, never a 5xx', async () => {
    for (const q of ['q=a%00', 'contentId=a%00b', 'content=%00', 'device=x%00']) {
      const r = await call(ts, 'GET', `/api/v1/sessions?${q}`, { token: admin.accessToken });
      expect(r.status, q).toBe(400);
      expect(r.json!.error.message).toMatch(new RegExp(`^${q.split('=')[0]} must not contain the NUL character`));
    }
    const rooms = await call(ts, 'GET', '/api/v1/rooms?app=%00', { token: admin.accessToken });
    expect(rooms.status).toBe(400);
    const attempts = [
      call(ts, 'POST', '/api/v1/auth/login', {
        body: { email: 'a\u0000b@example.com', password: 'whatever-password' },
      }),
      call(ts, 'GET', '/api/v1/streams/a%00b/metrics', { token: admin.accessToken }),
      call(ts, 'POST', '/api/v1/users', {
        token: admin.accessToken,
        body: { email: 'nul\u0000@example.com', password: 'a long enough password', role: 'member' },
      }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status, JSON.stringify(r.json)).toBeLessThan(500);
      expect(r.json?.error?.code).not.toBe('DATABASE_ERROR');
    }
    // Nothing was written by the refused user creation.
    const users = await call(ts, 'GET', '/api/v1/users', { token: admin.accessToken });
    expect(JSON.stringify(users.json)).not.toContain('nul');
  });
});
