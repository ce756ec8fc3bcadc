// Accounts as a person and an API client meet them: first-run setup, sign-in, token rotation and theft
// detection, cookies with CSRF, brute-force limits, user administration and the audit log.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from './helpers/db.ts';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ADMIN, call, CookieClient, createUser, login, setupAdmin } from './helpers/accounts.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let ts: TestServer;
beforeEach(async () => {
  ts = await startTestServer();
});
afterEach(async () => {
  await ts.close();
});

describe('first-run setup', () => {
  test('needs the token from the setup link, works once, and never again', async () => {
    expect((await call(ts, 'GET', '/api/v1/auth/status')).json).toEqual({ setupRequired: true, user: null });
    expect(ts.server.setupToken).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const wrong = await call(ts, 'POST', '/api/v1/auth/setup', { body: { token: 'not-the-token', ...ADMIN } });
    expect(wrong.status).toBe(403);
    expect(wrong.json!.error.message).toMatch(/setup link is invalid/);

    const short = await call(ts, 'POST', '/api/v1/auth/setup', {
      body: { token: ts.server.setupToken, email: ADMIN.email, password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.json!.error.message).toMatch(/at least 10 characters/);

    const first = await setupAdmin(ts);
    expect(first.user).toMatchObject({ email: ADMIN.email, role: 'admin' });
    expect(first).not.toHaveProperty('user.passwordHash');

    const again = await call(ts, 'POST', '/api/v1/auth/setup', {
      body: { token: ts.server.setupToken, email: 'x@example.com', password: 'another password' },
    });
    expect(again.status).toBe(403);
    expect((await call(ts, 'GET', '/api/v1/auth/status')).json!.setupRequired).toBe(false);
  });

  test('an expired setup link is refused', async () => {
    await sql(ts.config, 'UPDATE setup_tokens SET expires_at = ?', [Date.now() - 1]);
    const r = await call(ts, 'POST', '/api/v1/auth/setup', { body: { token: ts.server.setupToken, ...ADMIN } });
    expect(r.status).toBe(403);
    expect((await call(ts, 'GET', '/api/v1/auth/status')).json!.setupRequired).toBe(true);
  });
});

describe('sign-in', () => {
  test('answers tokens and the user; /me names the user and their apps', async () => {
    await setupAdmin(ts);
    const t = await login(ts, ' Admin@Example.com ', ADMIN.password);
    expect(t).toMatchObject({ expiresIn: 900, user: { id: 1, email: ADMIN.email, role: 'admin' } });
    expect(t.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    const claims = JSON.parse(Buffer.from(t.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: '1', role: 'admin', iss: 'm3w', aud: 'm3w:access' });
    expect(claims.exp - claims.iat).toBe(900);
    expect(typeof claims.jti).toBe('string');
    const header = JSON.parse(Buffer.from(t.accessToken.split('.')[0]!, 'base64url').toString());
    expect(header.alg).toBe('EdDSA');
    const me = await call(ts, 'GET', '/api/v1/me', { token: t.accessToken });
    expect(me.json).toEqual({ id: 1, email: ADMIN.email, role: 'admin', apps: ['default'] });
  });

  test('unknown email and wrong password get the same answer in about the same time', async () => {
    await setupAdmin(ts);
    const attempt = async (email: string) => {
      const started = performance.now();
      const r = await call(ts, 'POST', '/api/v1/auth/login', { body: { email, password: 'wrong password!' } });
      return { r, ms: performance.now() - started };
    };
    // Interleaved (so a burst of load elsewhere hits both kinds alike), four of each: under the limit of 5
    // attempts per email, each unknown one a different email.
    const wrong: Array<{ r: Awaited<ReturnType<typeof call>>; ms: number }> = [];
    const unknown: typeof wrong = [];
    for (let i = 0; i < 4; i++) {
      wrong.push(await attempt(ADMIN.email));
      unknown.push(await attempt(`nobody-${i}@example.com`));
    }
    for (const { r } of [...wrong, ...unknown]) {
      expect(r.status).toBe(401);
      expect(r.json!.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'email or password is wrong' });
    }
    const median = (xs: Array<{ ms: number }>) => {
      const sorted = xs.map((x) => x.ms).sort((a, b) => a - b);
      return (sorted[1]! + sorted[2]!) / 2;
    };
    // Both pay for one scrypt verification (tens of ms); an early return for unknown emails would be ~1 ms.
    expect(median(wrong)).toBeGreaterThan(10);
    expect(median(unknown)).toBeGreaterThan(median(wrong) * 0.5);
  });

  test('failed sign-ins are limited per email with 429 and Retry-After', async () => {
    await setupAdmin(ts);
    for (let i = 0; i < 5; i++)
      expect(
        (await call(ts, 'POST', '/api/v1/auth/login', { body: { email: ADMIN.email, password: `guess number ${i}` } }))
          .status,
      ).toBe(401);
    const limited = await call(ts, 'POST', '/api/v1/auth/login', { body: ADMIN });
    expect(limited.status).toBe(429);
    expect(limited.json!.error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('a burst of concurrent guesses is cut off before it queues password hashing', async () => {
    await setupAdmin(ts);
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(ts, 'POST', '/api/v1/auth/login', { body: { email: ADMIN.email, password: `guess ${i} xxxxxx` } }),
      ),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
  });

  test('failed sign-ins are limited per address across emails', async () => {
    await setupAdmin(ts);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++)
      statuses.push(
        (
          await call(ts, 'POST', '/api/v1/auth/login', {
            body: { email: `user${i}@example.com`, password: 'wrong password' },
          })
        ).status,
      );
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  test('bad bodies are 4xx that name the problem', async () => {
    expect((await call(ts, 'POST', '/api/v1/auth/login', { body: [1] })).json!.error.message).toMatch(/JSON object/);
    expect((await call(ts, 'POST', '/api/v1/auth/login', { body: { email: 1, password: 2 } })).status).toBe(400);
    expect(
      (await call(ts, 'POST', '/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x', session: 'magic' } }))
        .json!.error.message,
    ).toMatch(/session must be/);
    const r = await fetch(`${ts.url}/api/v1/auth/login`, {
      method: 'POST',
      body: 'email=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(415);
  });
});

describe('access tokens', () => {
  const keyFile = () => path.join(ts.config.dataDirPath, 'auth-ed25519.pem');

  test('expired, tampered, alg none, foreign key and wrong-kind tokens are refused', async () => {
    const admin = await setupAdmin(ts);
    const [h, p, s] = admin.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const ourKey = createPrivateKey(readFileSync(keyFile(), 'utf8'));
    const signWith = (key: Parameters<SignJWT['sign']>[0], payload: Record<string, unknown>) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA' }).sign(key);
    const now = Math.floor(Date.now() / 1000);

    const candidates: Record<string, string> = {
      expired: await signWith(ourKey, { ...claims, iat: now - 2000, exp: now - 1000 }),
      tampered: `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin', sub: '2' })).toString('base64url')}.${s}`,
      badSignature: `${h}.${p}.${s.slice(0, -4)}AAAA`,
      algNone: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`,
      otherKey: await signWith(generateKeyPairSync('ed25519').privateKey, claims),
      guestAudience: await signWith(ourKey, { ...claims, aud: 'm3w:guest' }),
    };
    expect((await call(ts, 'GET', '/api/v1/me', { token: admin.accessToken })).status).toBe(200);
    for (const [name, token] of Object.entries(candidates)) {
      const r = await call(ts, 'GET', '/api/v1/me', { token });
      expect(r.status, name).toBe(401);
      expect(r.json!.error.code, name).toBe('UNAUTHORIZED');
    }
    expect((await call(ts, 'GET', '/api/v1/me', { headers: { authorization: 'Basic YTpi' } })).status).toBe(401);
  });
});

describe('refresh tokens', () => {
  test('rotate: the old one stops working, and replaying it ends the whole login', async () => {
    const first = await setupAdmin(ts);
    const second = (await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: first.refreshToken } }))
      .json as typeof first;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.user.email).toBe(ADMIN.email);
    expect((await call(ts, 'GET', '/api/v1/me', { token: second.accessToken })).status).toBe(200);

    // The thief (or the victim) replays the rotated token: the family is revoked for both.
    const replay = await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.json!.error.message).toMatch(/already used/);
    expect(
      (await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: second.refreshToken } })).status,
    ).toBe(401);
    expect((await call(ts, 'GET', '/api/v1/me', { token: second.accessToken })).status).toBe(401);

    // Other logins of the same user are untouched.
    const other = await login(ts, ADMIN.email, ADMIN.password);
    expect((await call(ts, 'GET', '/api/v1/me', { token: other.accessToken })).status).toBe(200);
    const audit = await call(ts, 'GET', '/api/v1/audit', { token: other.accessToken });
    expect(audit.json!.entries.map((e: { action: string }) => e.action)).toContain('token_family_revoked');
  });

  test('logout ends the login at once, access token included', async () => {
    const t = await setupAdmin(ts);
    expect((await call(ts, 'POST', '/api/v1/auth/logout', { body: { refreshToken: t.refreshToken } })).status).toBe(
      204,
    );
    expect((await call(ts, 'GET', '/api/v1/me', { token: t.accessToken })).status).toBe(401);
    expect((await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: t.refreshToken } })).status).toBe(
      401,
    );
    // Bearer-only logout works too.
    const u = await login(ts, ADMIN.email, ADMIN.password);
    expect((await call(ts, 'POST', '/api/v1/auth/logout', { token: u.accessToken })).status).toBe(204);
    expect((await call(ts, 'GET', '/api/v1/me', { token: u.accessToken })).status).toBe(401);
  });

  test('changing the password ends every other login, not this one', async () => {
    const here = await setupAdmin(ts);
    const elsewhere = await login(ts, ADMIN.email, ADMIN.password);
    const wrongCurrent = await call(ts, 'POST', '/api/v1/me/password', {
      token: here.accessToken,
      body: { currentPassword: 'nope nope nope', newPassword: 'a brand new password' },
    });
    expect(wrongCurrent.status).toBe(403);
    const r = await call(ts, 'POST', '/api/v1/me/password', {
      token: here.accessToken,
      body: { currentPassword: ADMIN.password, newPassword: 'a brand new password' },
    });
    expect(r.status).toBe(204);
    expect((await call(ts, 'GET', '/api/v1/me', { token: here.accessToken })).status).toBe(200);
    expect((await call(ts, 'GET', '/api/v1/me', { token: elsewhere.accessToken })).status).toBe(401);
    expect(
      (await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: elsewhere.refreshToken } })).status,
    ).toBe(401);
    await login(ts, ADMIN.email, 'a brand new password');
  });
});

describe('browser sessions', () => {
  test('cookies are HttpOnly and SameSite=Strict; changes need the CSRF header', async () => {
    const browser = new CookieClient(ts);
    const r = await browser.call('POST', '/api/v1/auth/setup', {
      body: { token: ts.server.setupToken, ...ADMIN, session: 'cookie' },
    });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ expiresIn: 900, user: { id: 1, email: ADMIN.email, role: 'admin' } });
    const cookies = r.headers.getSetCookie();
    const access = cookies.find((c) => c.startsWith('m3w_access='))!;
    const refresh = cookies.find((c) => c.startsWith('m3w_refresh='))!;
    const csrf = cookies.find((c) => c.startsWith('m3w_csrf='))!;
    for (const c of [access, refresh]) expect(c).toMatch(/HttpOnly/i);
    for (const c of [access, refresh, csrf]) expect(c).toMatch(/SameSite=Strict/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    expect(refresh).toMatch(/Path=\/api\/v1\/auth/);
    expect(access).not.toMatch(/Secure/);

    expect((await browser.call('GET', '/api/v1/me')).status).toBe(200);
    const body = { email: 'member@example.com', password: 'member password 1', role: 'member' };
    const forged = await browser.call('POST', '/api/v1/users', { body, csrf: false });
    expect(forged.status).toBe(403);
    expect(forged.json!.error.message).toMatch(/x-csrf-token/);
    expect((await browser.call('POST', '/api/v1/users', { body })).status).toBe(201);

    const refreshed = await browser.call('POST', '/api/v1/auth/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).not.toHaveProperty('refreshToken');
    expect((await browser.call('GET', '/api/v1/me')).status).toBe(200);
    expect((await browser.call('POST', '/api/v1/auth/logout')).status).toBe(204);
    expect(browser.jar.has('m3w_access')).toBe(false);
    expect((await browser.call('GET', '/api/v1/me')).status).toBe(401);
  });
});

describe('users and roles', () => {
  test('admins manage users; the hash never leaves; the last admin stays', async () => {
    const admin = await setupAdmin(ts);
    const created = await call(ts, 'POST', '/api/v1/users', {
      token: admin.accessToken,
      body: { email: 'm@example.com', password: 'member password', role: 'member' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: 2,
      email: 'm@example.com',
      role: 'member',
      disabled: false,
      createdAt: expect.any(Number),
      apps: [],
    });
    expect(JSON.stringify(created.json)).not.toMatch(/scrypt|password/);
    const dup = await call(ts, 'POST', '/api/v1/users', {
      token: admin.accessToken,
      body: { email: 'M@example.com', password: 'member password' },
    });
    expect(dup.status).toBe(400);

    const member = await login(ts, 'm@example.com', 'member password');
    expect((await call(ts, 'GET', '/api/v1/users', { token: member.accessToken })).status).toBe(403);

    expect(
      (await call(ts, 'PATCH', '/api/v1/users/1', { token: admin.accessToken, body: { role: 'member' } })).status,
    ).toBe(403);
    expect((await call(ts, 'DELETE', '/api/v1/users/1', { token: admin.accessToken })).status).toBe(403);

    const disabled = await call(ts, 'PATCH', '/api/v1/users/2', { token: admin.accessToken, body: { disabled: true } });
    expect(disabled.json!.disabled).toBe(true);
    expect((await call(ts, 'GET', '/api/v1/me', { token: member.accessToken })).status).toBe(401);
    expect(
      (await call(ts, 'POST', '/api/v1/auth/login', { body: { email: 'm@example.com', password: 'member password' } }))
        .json!.error.message,
    ).toBe('email or password is wrong');

    expect((await call(ts, 'DELETE', '/api/v1/users/2', { token: admin.accessToken })).status).toBe(204);
    expect((await call(ts, 'DELETE', '/api/v1/users/2', { token: admin.accessToken })).status).toBe(404);
    expect((await call(ts, 'PATCH', '/api/v1/users/abc', { token: admin.accessToken, body: {} })).status).toBe(400);
  });

  test('members see only the apps granted to them', async () => {
    const admin = await setupAdmin(ts);
    expect(
      (await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: 'tv-app', name: 'TV app' } }))
        .status,
    ).toBe(201);
    const member = await createUser(ts, admin.accessToken, 'm@example.com', 'member', ['tv-app']);
    const apps = await call(ts, 'GET', '/api/v1/apps', { token: member.accessToken });
    expect(apps.json!.apps.map((a: { id: string }) => a.id)).toEqual(['tv-app']);
    expect((await call(ts, 'GET', '/api/v1/me', { token: member.accessToken })).json!.apps).toEqual(['tv-app']);
    const revoke = await call(ts, 'DELETE', `/api/v1/users/${member.user.id}/apps/tv-app`, {
      token: admin.accessToken,
    });
    expect(revoke.status).toBe(204);
    expect((await call(ts, 'GET', '/api/v1/apps', { token: member.accessToken })).json!.apps).toEqual([]);
    expect(
      (await call(ts, 'PUT', `/api/v1/users/${member.user.id}/apps/nope`, { token: admin.accessToken })).status,
    ).toBe(404);
  });
});

describe('audit log', () => {
  test('records who did what, pages newest first, and holds no secrets', async () => {
    const admin = await setupAdmin(ts);
    await call(ts, 'POST', '/api/v1/auth/login', { body: { email: ADMIN.email, password: 'wrong password' } });
    await createUser(ts, admin.accessToken, 'm@example.com', 'member', ['default']);
    const key = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'phone', scopes: ['ingest'] },
    });
    const page1 = await call(ts, 'GET', '/api/v1/audit?limit=3', { token: admin.accessToken });
    const page2 = await call(ts, 'GET', `/api/v1/audit?limit=50&before=${page1.json!.nextBefore}`, {
      token: admin.accessToken,
    });
    const all = [...page1.json!.entries, ...page2.json!.entries];
    expect(all.map((e: { action: string }) => e.action).reverse()).toEqual([
      'setup_completed',
      'login_failed',
      'user_created',
      'grant_added',
      'login_succeeded',
      'key_created',
    ]);
    expect(all[0]).toMatchObject({ actorEmail: ADMIN.email, address: '127.0.0.1', target: `key:${key.json!.prefix}` });
    expect(page2.json!.nextBefore).toBeNull();
    expect(JSON.stringify(all)).not.toContain(key.json!.key);
    expect((await call(ts, 'GET', '/api/v1/audit?limit=0', { token: admin.accessToken })).status).toBe(400);
  });
});
