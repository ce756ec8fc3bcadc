// Apps and API keys managed by people: keys shown once, rotation with a grace period, revocation at once,
// per-key rate limits, and guest tokens bound to one resource.
import { afterEach, describe, expect, test } from 'vitest';
import { guestMay } from '../src/auth/index.ts';
import { call, setupAdmin } from './helpers/accounts.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

let ts: TestServer;
afterEach(async () => {
  await ts.close();
});

const ingest = (key: string, id = 's1') =>
  postSessions(ts.url, sdkSession({ sessionId: id }), { key }).then((r) => r.status);

describe('API keys', () => {
  test('created once, listed without the secret, revoked at once', async () => {
    ts = await startTestServer();
    const admin = await setupAdmin(ts);
    const created = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'android', scopes: ['ingest', 'read'] },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'android',
      scopes: ['ingest', 'read'],
      appId: 'default',
      rateLimit: null,
      expiresAt: null,
    });
    const key = created.json!.key as string;
    expect(key.startsWith(`${created.json!.prefix}_`)).toBe(true);
    expect(await ingest(key)).toBe(200);

    const list = await call(ts, 'GET', '/api/v1/apps/default/keys', { token: admin.accessToken });
    expect(list.json!.keys).toHaveLength(2); // the bootstrap key and this one
    expect(JSON.stringify(list.json)).not.toContain(key);

    expect(
      (await call(ts, 'DELETE', `/api/v1/apps/default/keys/${created.json!.prefix}`, { token: admin.accessToken }))
        .status,
    ).toBe(204);
    expect(await ingest(key, 's2')).toBe(401);
    expect(
      (await call(ts, 'DELETE', `/api/v1/apps/default/keys/${created.json!.prefix}`, { token: admin.accessToken }))
        .status,
    ).toBe(404);
  });

  test('rotation: the new key works at once and the old one until the grace period ends', async () => {
    ts = await startTestServer({ keyRotationGraceHours: 24 });
    const admin = await setupAdmin(ts);
    const old = ts.apiKey;
    const prefix = old.split('_').slice(0, 2).join('_');
    const rotated = await call(ts, 'POST', `/api/v1/apps/default/keys/${prefix}/rotate`, { token: admin.accessToken });
    expect(rotated.status).toBe(201);
    expect(rotated.json!.prefix).not.toBe(prefix);
    expect(await ingest(rotated.json!.key)).toBe(200);
    expect(await ingest(old, 's2')).toBe(200);
    const listed = (await call(ts, 'GET', '/api/v1/apps/default/keys', { token: admin.accessToken })).json!
      .keys as Array<{ prefix: string; expiresAt: number | null }>;
    const expiry = listed.find((k) => k.prefix === prefix)!.expiresAt!;
    expect(expiry - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    expect(
      (await call(ts, 'POST', `/api/v1/apps/default/keys/${prefix}/rotate`, { token: admin.accessToken })).status,
    ).toBe(404);
  });

  test('rotation with no grace period stops the old key at once', async () => {
    ts = await startTestServer({ keyRotationGraceHours: 0 });
    const admin = await setupAdmin(ts);
    const prefix = ts.apiKey.split('_').slice(0, 2).join('_');
    expect(await ingest(ts.apiKey)).toBe(200); // now cached by the server
    const rotated = await call(ts, 'POST', `/api/v1/apps/default/keys/${prefix}/rotate`, { token: admin.accessToken });
    expect(await ingest(ts.apiKey, 's2')).toBe(401);
    expect(await ingest(rotated.json!.key, 's3')).toBe(200);
  });

  test('a per-key rate limit overrides the default', async () => {
    ts = await startTestServer();
    const admin = await setupAdmin(ts);
    const key = (
      await call(ts, 'POST', '/api/v1/apps/default/keys', {
        token: admin.accessToken,
        body: { name: 'tight', rateLimit: 3 },
      })
    ).json!.key;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await ingest(key, `s${i}`));
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await ingest(ts.apiKey, 'other')).toBe(200);
    const bad = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'x', rateLimit: 0 },
    });
    expect(bad.json!.error.message).toMatch(/rateLimit must be/);
    const badScope = await call(ts, 'POST', '/api/v1/apps/default/keys', {
      token: admin.accessToken,
      body: { name: 'x', scopes: ['admin'] },
    });
    expect(badScope.json!.error.message).toMatch(/scopes must be/);
  });

  test("another app's keys are not found, and apps validate their ids", async () => {
    ts = await startTestServer();
    const admin = await setupAdmin(ts);
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: 'Bad Id' } })).status).toBe(
      400,
    );
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: 'tv' } })).status).toBe(201);
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin.accessToken, body: { id: 'tv' } })).status).toBe(400);
    const prefix = ts.apiKey.split('_').slice(0, 2).join('_');
    expect((await call(ts, 'DELETE', `/api/v1/apps/tv/keys/${prefix}`, { token: admin.accessToken })).status).toBe(404);
    expect(
      (await call(ts, 'PATCH', '/api/v1/apps/tv', { token: admin.accessToken, body: { name: 'Living room' } })).json!
        .name,
    ).toBe('Living room');
    expect((await call(ts, 'DELETE', '/api/v1/apps/default', { token: admin.accessToken })).status).toBe(400);
    const tvKey = (await call(ts, 'POST', '/api/v1/apps/tv/keys', { token: admin.accessToken, body: { name: 'tv' } }))
      .json!.key;
    expect((await call(ts, 'DELETE', '/api/v1/apps/tv', { token: admin.accessToken })).status).toBe(204);
    expect(await ingest(tvKey)).toBe(401);
  });
});

describe('guest tokens', () => {
  test('grant the guest role on one resource only, until they expire', async () => {
    ts = await startTestServer();
    const admin = await setupAdmin(ts);
    // Tokens are for rooms and videos that exist in the caller's apps.
    await ts.server.store.videos.createVideo({
      id: 'guestvideo1',
      appId: 'default',
      title: 'guest',
      status: 'uploading',
      uploadLength: 10,
      createdAt: Date.now(),
    });
    await ts.server.store.rooms.createRoom({
      id: 'movie-night',
      appId: 'default',
      name: 'Movie night',
      videoId: 'guestvideo1',
      ownerUserId: 1,
      locked: false,
      createdAt: Date.now(),
    });
    const r = await call(ts, 'POST', '/api/v1/guest-tokens', {
      token: admin.accessToken,
      body: { resource: 'room:movie-night', ttlSeconds: 3600, displayName: 'Sam' },
    });
    expect(r.status).toBe(201);
    expect(r.json!.expiresAt - Date.now()).toBeGreaterThan(3590_000);
    const signer = ts.server.accounts.signer;
    expect(await guestMay(signer, r.json!.token, 'join', 'room:movie-night')).toMatchObject({
      name: 'Sam',
      resource: 'room:movie-night',
    });
    expect(await guestMay(signer, r.json!.token, 'join', 'room:other')).toBeNull();
    expect(await guestMay(signer, admin.accessToken, 'join', 'room:movie-night')).toBeNull();
    // A guest token is not a sign-in.
    expect((await call(ts, 'GET', '/api/v1/me', { token: r.json!.token })).status).toBe(401);

    const expired = await signer.signGuest('room:movie-night', 'Sam', -10);
    expect(await guestMay(signer, expired, 'join', 'room:movie-night')).toBeNull();

    for (const body of [
      { resource: 'room:' },
      { resource: 'bank:1' },
      { resource: 'room:a', ttlSeconds: 8 * 86400 },
      { resource: 'room:movie-night', displayName: 'a\u0000b' },
    ])
      expect((await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin.accessToken, body })).status).toBe(400);
    // A room or video that does not exist (or is another app's) gets no token.
    for (const resource of ['room:no-such-room', 'video:no-such-video'])
      expect(
        (await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin.accessToken, body: { resource } })).status,
      ).toBe(404);
    expect((await call(ts, 'POST', '/api/v1/guest-tokens', { body: { resource: 'room:a' } })).status).toBe(401);
  });
});
