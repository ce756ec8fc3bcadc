// Promises the README makes that no other test checked: a login ends after 30 days (refreshing does not
// extend it), at most 16 password checks run at once, the last active admin cannot be disabled, demoted or
// deleted, cookies are Secure behind a trusted proxy that says https, a rotated key stops when its grace period
// ends, `apikey revoke` reaches a running server within 10 s, `admin reset-password` ends the user's logins,
// and retention runs at start-up when its last run is over a day old.
import { sql } from './helpers/db.ts';
import { describe, expect, test } from 'vitest';
import { ADMIN, call, login, setupAdmin } from './helpers/accounts.ts';
import { runCli, runCliAsync, spawnServer } from './helpers/child.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

const DAY = 86_400_000;

const claims = (accessToken: string) =>
  JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string };

describe('a login lasts at most 30 days', () => {
  test('it ends 30 days after sign-in, and refreshing does not move that', async () => {
    const ts = await startTestServer();
    try {
      await setupAdmin(ts);
      const t = await login(ts, ADMIN.email, ADMIN.password);
      const { sid } = claims(t.accessToken);
      // A second connection to the server's database: what time passing (or another process) would change.
      const session = async () =>
        (await sql(ts.config, 'SELECT created_at, expires_at FROM auth_sessions WHERE id = ?', [sid]))[0] as {
          created_at: number;
          expires_at: number;
        };
      const signedIn = await session();
      expect(signedIn.expires_at - signedIn.created_at).toBe(30 * DAY);
      const refreshed = await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: t.refreshToken } });
      expect(refreshed.status).toBe(200);
      expect(await session()).toEqual(signedIn);
      expect((await call(ts, 'GET', '/api/v1/me', { token: refreshed.json!.accessToken })).status).toBe(200);

      // Thirty days later (the end moved to just now): neither the refresh token nor the access token works.
      await sql(ts.config, 'UPDATE auth_sessions SET expires_at = ? WHERE id = ?', [Date.now() - 1, sid]);
      expect((await call(ts, 'GET', '/api/v1/me', { token: refreshed.json!.accessToken })).status).toBe(401);
      const late = await call(ts, 'POST', '/api/v1/auth/refresh', {
        body: { refreshToken: refreshed.json!.refreshToken },
      });
      expect(late.status).toBe(401);
      expect(late.json!.error.message).toMatch(/invalid or expired/);
    } finally {
      await ts.close();
    }
  });
});

describe('at most 16 password checks run at once', () => {
  test('a burst of 32 sign-ins from 32 addresses: 16 are checked at a time, the rest told to retry', async () => {
    // Distinct addresses (through a trusted proxy) and emails, so only the concurrency bound can refuse them.
    const ts = await startTestServer({ trustProxy: true });
    try {
      await setupAdmin(ts);
      const accounts = ts.server.accounts as unknown as { checksInFlight: number };
      let most = 0;
      let sampling = true;
      const sample = () => {
        most = Math.max(most, accounts.checksInFlight);
        if (sampling) setImmediate(sample);
      };
      sample();
      const answers = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          call(ts, 'POST', '/api/v1/auth/login', {
            body: { email: `burst-${i}@example.com`, password: 'not the password' },
            headers: { 'x-forwarded-for': `10.0.${i}.1` },
          }),
        ),
      );
      sampling = false;
      const checked = answers.filter((a) => a.status === 401);
      const refused = answers.filter((a) => a.status === 429);
      expect(checked.length + refused.length).toBe(32);
      expect(most).toBe(16);
      expect(checked.length).toBeGreaterThanOrEqual(16);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.json!.error.message).toMatch(/too many sign-ins at once/);
      expect(refused[0]!.headers.get('retry-after')).toBe('1');
      // Nothing is left counted: the next sign-in is checked.
      expect(accounts.checksInFlight).toBe(0);
      expect((await login(ts, ADMIN.email, ADMIN.password)).accessToken).toBeTruthy();
    } finally {
      await ts.close();
    }
  });
});

describe('the last active admin', () => {
  test('cannot be disabled, demoted or deleted (another admin can be disabled)', async () => {
    const ts = await startTestServer();
    try {
      const admin = await setupAdmin(ts);
      const second = await call(ts, 'POST', '/api/v1/users', {
        token: admin.accessToken,
        body: { email: 'second@example.com', password: 'second admin password', role: 'admin' },
      });
      expect(second.status).toBe(201);
      const disable = (id: number) =>
        call(ts, 'PATCH', `/api/v1/users/${id}`, { token: admin.accessToken, body: { disabled: true } });
      // The control: with two active admins, one may be disabled.
      const ok = await disable(second.json!.id);
      expect(ok.status).toBe(200);
      expect(ok.json!.disabled).toBe(true);
      const refused = await disable(admin.user.id);
      expect(refused.status).toBe(403);
      expect(refused.json!.error.message).toMatch(/only active admin/);
      // Nor demoted, nor deleted (the README names all three).
      const demote = await call(ts, 'PATCH', `/api/v1/users/${admin.user.id}`, {
        token: admin.accessToken,
        body: { role: 'member' },
      });
      expect(demote.status).toBe(403);
      expect(demote.json!.error.message).toMatch(/only active admin/);
      const del = await call(ts, 'DELETE', `/api/v1/users/${admin.user.id}`, { token: admin.accessToken });
      expect(del.status).toBe(403);
      expect(del.json!.error.message).toMatch(/only active admin/);
      const me = await call(ts, 'GET', '/api/v1/me', { token: admin.accessToken });
      expect(me.status).toBe(200);
      expect(me.json!.role).toBe('admin');
    } finally {
      await ts.close();
    }
  });
});

describe('Secure cookies behind a proxy', () => {
  async function cookieLogin(ts: TestServer, headers: Record<string, string>): Promise<string[]> {
    const res = await fetch(`${ts.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ ...ADMIN, session: 'cookie' }),
    });
    expect(res.status).toBe(200);
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThanOrEqual(3); // access, refresh, csrf
    return cookies;
  }
  const secure = (c: string) => /;\s*secure(;|$)/i.test(c);

  test('with trustProxy, X-Forwarded-Proto: https makes every cookie Secure; plain http does not', async () => {
    const ts = await startTestServer({ trustProxy: true });
    try {
      await setupAdmin(ts);
      expect((await cookieLogin(ts, { 'x-forwarded-proto': 'https' })).every(secure)).toBe(true);
      expect((await cookieLogin(ts, {})).some(secure)).toBe(false);
      expect((await cookieLogin(ts, { 'x-forwarded-proto': 'http' })).some(secure)).toBe(false);
    } finally {
      await ts.close();
    }
  });

  test('without trustProxy the header is not believed', async () => {
    const ts = await startTestServer({ trustProxy: false });
    try {
      await setupAdmin(ts);
      expect((await cookieLogin(ts, { 'x-forwarded-proto': 'https' })).some(secure)).toBe(false);
    } finally {
      await ts.close();
    }
  });
});

describe('a rotated key', () => {
  test('keeps working through its grace period and stops when it ends', async () => {
    const ts = await startTestServer({ keyRotationGraceHours: 24 });
    try {
      const admin = await setupAdmin(ts);
      const old = ts.apiKey;
      const prefix = old.split('_').slice(0, 2).join('_');
      let n = 0;
      const ingest = async (key: string) =>
        (await postSessions(ts.url, sdkSession({ sessionId: `rot-${n++}` }), { key })).status;
      expect(await ingest(old)).toBe(200);
      const rotatedAt = Date.now();
      const rotated = await call(ts, 'POST', `/api/v1/apps/default/keys/${prefix}/rotate`, {
        token: admin.accessToken,
      });
      expect(rotated.status).toBe(201);
      const expiresAt = async () =>
        (await sql(ts.config, 'SELECT expires_at FROM api_keys WHERE prefix = ?', [prefix]))[0]!.expires_at as number;
      expect(Math.abs((await expiresAt()) - (rotatedAt + 24 * 3_600_000))).toBeLessThan(60_000);
      // Let the grace period run out 1.5 s from now instead of in 24 hours.
      const end = Date.now() + 1500;
      await sql(ts.config, 'UPDATE api_keys SET expires_at = ? WHERE prefix = ?', [end, prefix]);
      expect(await ingest(old)).toBe(200); // within the grace period (and now cached by the server)
      await expect.poll(() => ingest(old), { timeout: 5000, interval: 100 }).toBe(401);
      expect(Date.now()).toBeGreaterThanOrEqual(end);
      expect(await ingest(rotated.json!.key)).toBe(200);
    } finally {
      await ts.close();
    }
  });
});

describe('the CLI against a running server', () => {
  test('apikey revoke: the server stops accepting the key within 10 s, though it is in constant use', async () => {
    const dir = makeTempDir();
    const created = runCli(['apikey', 'create', '--name', 'to-revoke', '--json'], { cwd: dir });
    expect(created.status, created.stderr).toBe(0);
    const { key, prefix } = JSON.parse(created.stdout) as { key: string; prefix: string };
    const server = await spawnServer({ cwd: dir });
    try {
      let n = 0;
      const ingest = async () =>
        (
          await fetch(`${server.url}/v1/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': key },
            body: JSON.stringify(sdkSession({ sessionId: `rv-${n++}` })),
          })
        ).status;
      expect(await ingest()).toBe(200); // cached by the server from here on
      const revoked = await runCliAsync(['apikey', 'revoke', prefix], { cwd: dir });
      expect(revoked.status, revoked.stderr).toBe(0);
      const at = Date.now();
      await expect.poll(ingest, { timeout: 15_000, interval: 200 }).toBe(401);
      expect(Date.now() - at, 'ms from revoke to refusal').toBeLessThanOrEqual(10_500);
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  }, 30_000);

  test("admin reset-password ends the user's logins, refresh tokens included", async () => {
    const dir = makeTempDir();
    const email = 'ops@example.com';
    expect(runCli(['admin', 'create', '--email', email, '--password', 'first password'], { cwd: dir }).status).toBe(0);
    const server = await spawnServer({ cwd: dir });
    const api = async (method: string, p: string, opts: { token?: string; body?: unknown } = {}) => {
      const res = await fetch(server.url + p, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };
    try {
      const signedIn = await api('POST', '/api/v1/auth/login', { body: { email, password: 'first password' } });
      expect(signedIn.status).toBe(200);
      const { accessToken, refreshToken } = signedIn.json as { accessToken: string; refreshToken: string };
      expect((await api('GET', '/api/v1/me', { token: accessToken })).status).toBe(200);

      const reset = await runCliAsync(['admin', 'reset-password', '--email', email, '--password', 'second password'], {
        cwd: dir,
      });
      expect(reset.status, reset.stderr).toBe(0);
      expect((await api('GET', '/api/v1/me', { token: accessToken })).status).toBe(401);
      expect((await api('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).status).toBe(401);
      expect((await api('POST', '/api/v1/auth/login', { body: { email, password: 'first password' } })).status).toBe(
        401,
      );
      expect((await api('POST', '/api/v1/auth/login', { body: { email, password: 'second password' } })).status).toBe(
        200,
      );
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('retention at start-up', () => {
  const RETENTION = 'retention.last_run';

  /** A server on `dir` with old and new sessions, and the last retention run recorded `lastRunAgo` ms ago. */
  async function prepare(dir: string, lastRunAgo: number): Promise<void> {
    const now = Date.now();
    const ts = await startTestServer({}, dir, { analyticsSchedules: false });
    const sessions = [
      ...[1, 2, 3].map((i) =>
        sdkSession({
          sessionId: `old-${i}`,
          timestamp: now - 100 * DAY + i,
          sessionStartDateIso: new Date(now - 100 * DAY).toISOString(),
        }),
      ),
      sdkSession({ sessionId: 'recent', timestamp: now - DAY }),
    ];
    expect((await postSessions(ts.url, sessions, { key: ts.apiKey })).status).toBe(200);
    await ts.server.store.setEngineState(RETENTION, now - lastRunAgo);
    await ts.server.close(); // not ts.close(): that would delete the directory
  }

  /** Starts with the schedules on, waits for the start-up jobs (they run one at a time), reports. */
  async function startAndSettle(dir: string) {
    const startedAt = Date.now();
    const ts = await startTestServer({}, dir);
    try {
      await ts.server.analytics.runRetention(true); // queued behind the start-up jobs
      return {
        startedAt,
        sessions: await ts.server.store.countSessions(),
        lastRun: await ts.server.store.getEngineState(RETENTION),
      };
    } finally {
      await ts.close();
    }
  }

  test('runs when the last run is over a day old, and not when it is recent', async () => {
    const stale = makeTempDir();
    await prepare(stale, 25 * 3_600_000);
    const ran = await startAndSettle(stale);
    expect(ran.sessions).toBe(1); // the three 100-day-old sessions went (retentionDays 90)
    expect(ran.lastRun).toBeGreaterThanOrEqual(ran.startedAt);

    const recent = makeTempDir();
    await prepare(recent, 3_600_000);
    const skipped = await startAndSettle(recent);
    expect(skipped.sessions).toBe(4);
    expect(skipped.lastRun).toBeLessThan(skipped.startedAt);
  });
});
