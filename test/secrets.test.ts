// No secret — password, access or refresh token, API key, setup or guest token — appears in the logs,
// or in any answer after the one that created it.
import { expect, test } from 'vitest';
import { ADMIN, call, CookieClient, login, setupAdmin } from './helpers/accounts.ts';
import { postSessions, sdkSession, startTestServer } from './helpers/server.ts';

test('secrets stay out of logs and later answers', async () => {
  const ts = await startTestServer({ logLevel: 'debug' });
  try {
    const secrets: string[] = [ADMIN.password, ts.server.setupToken!, ts.apiKey];
    const admin = await setupAdmin(ts);
    secrets.push(admin.accessToken, admin.refreshToken);
    const memberPassword = 'member secret password';
    secrets.push(memberPassword);
    await call(ts, 'POST', '/api/v1/users', {
      token: admin.accessToken,
      body: { email: 'm@example.com', password: memberPassword, role: 'member' },
    });
    const member = await login(ts, 'm@example.com', memberPassword);
    secrets.push(member.accessToken, member.refreshToken);
    const wrongPassword = 'wrong password attempt';
    secrets.push(wrongPassword);
    await call(ts, 'POST', '/api/v1/auth/login', { body: { email: 'm@example.com', password: wrongPassword } });
    const refreshed = (await call(ts, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: member.refreshToken } }))
      .json!;
    secrets.push(refreshed.accessToken, refreshed.refreshToken);
    const created = (
      await call(ts, 'POST', '/api/v1/apps/default/keys', {
        token: admin.accessToken,
        body: { name: 'k', scopes: ['ingest', 'read'] },
      })
    ).json!;
    const rotated = (
      await call(ts, 'POST', `/api/v1/apps/default/keys/${created.prefix}/rotate`, { token: admin.accessToken })
    ).json!;
    secrets.push(created.key, rotated.key);
    await ts.server.store.videos.createVideo({
      id: 'secretsvideo',
      appId: 'default',
      title: 'secrets',
      status: 'uploading',
      uploadLength: 10,
      createdAt: Date.now(),
    });
    const guest = (
      await call(ts, 'POST', '/api/v1/guest-tokens', {
        token: admin.accessToken,
        body: { resource: 'video:secretsvideo' },
      })
    ).json!;
    secrets.push(guest.token);
    const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: admin.accessToken })).json!;
    secrets.push(ticket.ticket);
    await postSessions(ts.url, sdkSession(), { key: rotated.key });
    await postSessions(ts.url, sdkSession(), { key: `${created.key}x` });
    await call(ts, 'GET', '/api/v1/me', { token: `${admin.accessToken}x` });
    const browser = new CookieClient(ts);
    await browser.call('POST', '/api/v1/auth/login', { body: { ...ADMIN, session: 'cookie' } });
    secrets.push(browser.jar.get('m3w_access')!, browser.jar.get('m3w_refresh')!);
    await browser.call('POST', '/api/v1/auth/refresh');
    await browser.call('POST', '/api/v1/users', { body: { email: 'x@example.com', password: 'short' }, csrf: false });

    const later = [
      await call(ts, 'GET', '/api/v1/users', { token: admin.accessToken }),
      await call(ts, 'GET', '/api/v1/apps/default/keys', { token: admin.accessToken }),
      await call(ts, 'GET', '/api/v1/audit?limit=200', { token: admin.accessToken }),
      await call(ts, 'GET', '/api/v1/me', { token: admin.accessToken }),
      await call(ts, 'GET', '/api/v1/auth/status', { token: admin.accessToken }),
    ].map((r) => JSON.stringify(r.json));
    await ts.server.logger.flush();
    await new Promise((r) => setTimeout(r, 200));
    const logs = ts.logText();
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(9);
      expect(logs.includes(secret), `a secret of length ${secret.length} is in the logs`).toBe(false);
      for (const body of later) expect(body.includes(secret)).toBe(false);
    }
    for (const body of later) expect(body).not.toMatch(/scrypt\$/);
  } finally {
    await ts.close();
  }
});
