// Who may play what: signed URLs (tampered, expired, another video's path, unsigned, a signed-out or disabled
// viewer, a revoked guest token, a deleted video → 403), guest tokens for one video, the player's QoE credential
// on POST /v1/sessions (its app and video only), and the live topic video:<id> (progress for those who see the
// app, 4403 for others).
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SignedMediaParams } from '../../src/wire/playback.ts';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { openSocket } from '../helpers/ws-client.ts';
import { findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();

describe.skipIf(!ff)('signed playback', () => {
  let ts: TestServer;
  let admin: string;
  let a: string;
  let b: string;
  let source: string;

  const grant = async (id: string, token: string) => call(ts, 'POST', `/api/v1/videos/${id}/playback`, { token });
  const segmentOf = async (masterUrl: string) => {
    const master = await (await fetch(masterUrl)).text();
    const media = await (await fetch(new URL(master.split('\n').find((l) => l.startsWith('/'))!, ts.url))).text();
    return new URL(media.split('\n').find((l) => l.includes('/seg_'))!, ts.url);
  };

  beforeAll(async () => {
    const work = makeTempDir('m3w-signed-src-');
    ts = await startTestServer(MEDIA_CONFIG);
    admin = (await setupAdmin(ts)).accessToken;
    source = await makeVideo(ff!.ffmpeg.path, work, 'clip', { width: 320, height: 180, seconds: 2 });
    a = (await uploadFile(ts, admin, source, { title: 'A' })).json.id;
    b = (await uploadFile(ts, admin, source, { title: 'B' })).json.id;
    await waitForVideo(ts, admin, a);
    await waitForVideo(ts, admin, b);
  }, 60_000);
  afterAll(async () => {
    await ts?.close();
  });

  test('a good URL plays; tampered signature, tampered expiry, unsigned, another video path: 403', async () => {
    const g = (await grant(a, admin)).json!;
    const seg = await segmentOf(g.url);
    expect((await fetch(seg)).status).toBe(200);
    // The query every signed URL carries is the one /openapi.json documents (SignedMediaParams).
    for (const url of [new URL(g.url), seg])
      expect(Compile(SignedMediaParams).Check(Object.fromEntries(url.searchParams)), url.search).toBe(true);
    const tamperedSig = new URL(seg);
    const s = tamperedSig.searchParams.get('s')!;
    tamperedSig.searchParams.set('s', (s[0] === 'A' ? 'B' : 'A') + s.slice(1));
    const tamperedExp = new URL(seg);
    tamperedExp.searchParams.set('e', String(Number(seg.searchParams.get('e')) + 3_600_000));
    const unsigned = new URL(seg.pathname, ts.url);
    const otherVideo = new URL(seg.toString().replace(a, b));
    const otherMaster = new URL(g.url.replace(a, b));
    for (const [name, url] of Object.entries({ tamperedSig, tamperedExp, unsigned, otherVideo, otherMaster })) {
      const r = await fetch(url);
      expect(r.status, name).toBe(403);
      expect(((await r.json()) as any).error.code, name).toBe('FORBIDDEN');
    }
  });

  test('a grant lives playbackUrlTtlSeconds (2 h by default), and every URL in its playlists expires with it', async () => {
    const before = Date.now();
    const g = (await grant(a, admin)).json!;
    expect(g.expiresAt).toBeGreaterThanOrEqual(before + 7_200_000);
    expect(g.expiresAt).toBeLessThanOrEqual(Date.now() + 7_200_000);
    expect(g.qoe.expiresAt).toBe(g.expiresAt);
    expect(new URL(g.url).searchParams.get('e')).toBe(String(g.expiresAt));
    const seg = await segmentOf(g.url);
    expect(seg.searchParams.get('e')).toBe(String(g.expiresAt));
  });

  test('players on other origins: the preflight allows Range, playlists and segments allow any origin', async () => {
    const g = (await grant(a, admin)).json!;
    const seg = await segmentOf(g.url);
    const pre = await fetch(seg, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://blog.example.org',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/GET/);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/range/i);
    const cross = { headers: { origin: 'https://blog.example.org', range: 'bytes=0-99' } };
    const part = await fetch(seg, cross);
    expect(part.status).toBe(206);
    expect(part.headers.get('access-control-allow-origin')).toBe('*');
    expect(part.headers.get('access-control-expose-headers')).toMatch(/content-range/);
    const master = await fetch(g.url, { headers: { origin: 'https://blog.example.org' } });
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('an expired URL: 403 saying so', async () => {
    const viewer = new URL((await grant(a, admin)).json!.url).searchParams.get('v')!;
    const expired = ts.server.media.signer.sign(`/media/${a}/master.m3u8`, Date.now() - 1, viewer);
    const r = await fetch(ts.url + expired);
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error.message).toMatch(/expired/);
  });

  test("signing out or being disabled ends the viewer's URLs; deleting the video ends everyone's", async () => {
    const member = await createUser(ts, admin, 'viewer@example.com', 'member', ['default']);
    const g = (await grant(a, member.accessToken)).json!;
    const seg = await segmentOf(g.url);
    expect((await fetch(seg)).status).toBe(200);
    await call(ts, 'POST', '/api/v1/auth/logout', {
      token: member.accessToken,
      body: { refreshToken: member.refreshToken },
    });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(seg)).status).toBe(403);
    expect((await fetch(g.url)).status).toBe(403);

    // An admin disabling a viewer ends their URLs the same way.
    const other = await createUser(ts, admin, 'disabled-viewer@example.com', 'member', ['default']);
    const og = (await grant(a, other.accessToken)).json!;
    const oseg = await segmentOf(og.url);
    expect((await fetch(oseg)).status).toBe(200);
    const disabled = await call(ts, 'PATCH', `/api/v1/users/${other.user.id}`, {
      token: admin,
      body: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const refused = await fetch(oseg);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.message).toMatch(/sign-in .* has ended/);
    expect((await fetch(og.url)).status).toBe(403);

    const toDelete = (await uploadFile(ts, admin, source, { title: 'gone', appId: 'default' })).json.id;
    await waitForVideo(ts, admin, toDelete);
    const dg = (await grant(toDelete, admin)).json!;
    const dseg = await segmentOf(dg.url);
    expect((await call(ts, 'DELETE', `/api/v1/videos/${toDelete}`, { token: admin })).status).toBe(204);
    expect((await fetch(dseg)).status).toBe(403);
    expect((await fetch(dg.url)).status).toBe(403);
  });

  test('a guest token for the video plays it (never past the token); for another video: 401', async () => {
    const guest = (
      await call(ts, 'POST', '/api/v1/guest-tokens', {
        token: admin,
        body: { resource: `video:${a}`, ttlSeconds: 600 },
      })
    ).json!;
    const g = await grant(a, guest.token);
    expect(g.status, JSON.stringify(g.json)).toBe(200);
    expect(g.json!.expiresAt).toBeLessThanOrEqual(guest.expiresAt);
    expect((await fetch(await segmentOf(g.json!.url))).status).toBe(200);
    const viaQuery = await call(ts, 'POST', `/api/v1/videos/${a}/playback?token=${guest.token}`);
    expect(viaQuery.status).toBe(200);
    const elsewhere = await grant(b, guest.token);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.json!.error.message).toBe(`this guest token is for video:${a}, not video:${b}`);
  });

  test("revoking a guest token ends its URLs within a second and its grants at once; only the video's app may", async () => {
    const issue = async () =>
      (await call(ts, 'POST', '/api/v1/guest-tokens', { token: admin, body: { resource: `video:${a}` } })).json!
        .token as string;
    const [revoked, kept] = [await issue(), await issue()];
    const g = (await grant(a, revoked)).json!;
    const seg = await segmentOf(g.url);
    const keptSeg = await segmentOf((await grant(a, kept)).json!.url);
    expect((await fetch(seg)).status).toBe(200);

    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'revokers' } });
    const stranger = await createUser(ts, admin, 'revoker@example.com', 'member', ['revokers']);
    const refused = await call(ts, 'POST', '/api/v1/guest-tokens/revoke', {
      token: stranger.accessToken,
      body: { token: revoked },
    });
    expect(refused.status).toBe(404);
    const junk = await call(ts, 'POST', '/api/v1/guest-tokens/revoke', { token: admin, body: { token: 'nonsense' } });
    expect(junk.status).toBe(400);

    const member = await createUser(ts, admin, 'guest-host@example.com', 'member', ['default']);
    expect((await fetch(seg)).status).toBe(200); // just checked: the server remembers it for a second
    const r = await call(ts, 'POST', '/api/v1/guest-tokens/revoke', {
      token: member.accessToken,
      body: { token: revoked },
    });
    expect(r.status).toBe(204);
    // On the instance that revoked it, at once.
    expect((await fetch(seg)).status).toBe(403);
    const refusedGrant = await grant(a, revoked);
    expect(refusedGrant.status).toBe(401);
    expect(refusedGrant.json!.error.message).toMatch(/guest token was revoked/);
    // The same signed token spelled otherwise (spare bits of the signature's last character) is still revoked.
    expect((await grant(a, respelled(revoked))).status).toBe(401);
    expect((await call(ts, 'POST', `/api/v1/videos/${a}/playback?token=${respelled(revoked)}`)).status).toBe(401);
    await new Promise((res) => setTimeout(res, 1100));
    const gone = await fetch(seg);
    expect(gone.status).toBe(403);
    expect(((await gone.json()) as any).error.message).toMatch(/revoked/);
    expect((await fetch(g.url)).status).toBe(403);
    // Another guest token for the same video is untouched; revoking twice is harmless.
    expect((await fetch(keptSeg)).status).toBe(200);
    expect(
      (await call(ts, 'POST', '/api/v1/guest-tokens/revoke', { token: admin, body: { token: revoked } })).status,
    ).toBe(204);
    const audit = await call(ts, 'GET', '/api/v1/audit', { token: admin });
    expect(JSON.stringify(audit.json)).toContain('guest_token_revoked');
  });

  test('a member of another app: 404 for the video, its playback and its live topic', async () => {
    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'other' } });
    const outsider = await createUser(ts, admin, 'outsider@example.com', 'member', ['other']);
    expect((await call(ts, 'GET', `/api/v1/videos/${a}`, { token: outsider.accessToken })).status).toBe(404);
    expect((await grant(a, outsider.accessToken)).status).toBe(404);
    expect((await call(ts, 'DELETE', `/api/v1/videos/${a}`, { token: outsider.accessToken })).status).toBe(404);
    const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: outsider.accessToken })).json!.ticket;
    const sock = await openSocket(`${ts.url.replace('http', 'ws')}/ws/live?ticket=${ticket}`);
    sock.send({ type: 'subscribe', topic: `video:${a}` });
    expect((await sock.closed).code).toBe(4403);
  });

  test('the QoE credential ingests sessions of its video into its app, and nothing else', async () => {
    const g = (await grant(a, admin)).json!;
    const post = (body: unknown, token = g.qoe.token as string) =>
      fetch(`${ts.url}${g.qoe.endpoint}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post(sdkSession({ sessionId: 'player-1', contentId: a, playerName: 'm3w-player' }));
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await ts.server.store.getSession('default', 'player-1')).not.toBeNull();
    const other = await post(sdkSession({ sessionId: 'player-2', contentId: b }));
    expect(other.status).toBe(403);
    expect(((await other.json()) as any).error.message).toContain(a);
    expect((await post(sdkSession({ sessionId: 'player-3' }))).status).toBe(403);
    expect((await post(sdkSession({ sessionId: 'player-4', contentId: a }), `${g.qoe.token}x`)).status).toBe(401);
    expect(await ts.server.store.getSession('default', 'player-2')).toBeNull();
  });

  test('the live topic video:<id> sends status and progress to a signed-in user of its app', async () => {
    const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: admin })).json!.ticket;
    const sock = await openSocket(`${ts.url.replace('http', 'ws')}/ws/live?ticket=${ticket}`);
    const up = await uploadFile(ts, admin, source, { title: 'live', appId: 'default' });
    sock.send({ type: 'subscribe', topic: `video:${up.json.id}` });
    const first = await sock.next((m) => m.type === 'update' && m.topic === `video:${up.json.id}`, 10_000);
    expect((first.data as any).id).toBe(up.json.id);
    const ready = await sock.next((m) => m.type === 'update' && (m.data as any)?.status === 'ready', 30_000);
    expect(ready.data).toMatchObject({ title: 'live', progress: 1, renditions: [{ height: 180, status: 'ready' }] });
    expect('posterUrl' in (ready.data as object)).toBe(false);
    sock.close();
  });

  test('a followed video that is deleted says "deleted" to its followers; the connection and its other topics stay', async () => {
    const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: admin })).json!.ticket;
    const sock = await openSocket(`${ts.url.replace('http', 'ws')}/ws/live?ticket=${ticket}`);
    const doomed = (await uploadFile(ts, admin, source, { title: 'doomed', appId: 'default' })).json.id;
    sock.send({ type: 'subscribe', topic: `video:${doomed}` });
    sock.send({ type: 'subscribe', topic: `video:${a}` });
    await sock.next((m) => m.type === 'update' && m.topic === `video:${doomed}`, 10_000);
    const before = sock.messages.length;
    expect((await call(ts, 'DELETE', `/api/v1/videos/${doomed}`, { token: admin })).status).toBe(204);
    const gone = await sock.next((m) => m.type === 'update' && m.topic === `video:${doomed}`, 10_000, before);
    expect(gone.data).toEqual({ id: doomed, status: 'deleted' });
    // Several intervals later (each re-authorises every subscription) the socket is still open and answers.
    await ts.server.live.tick();
    await ts.server.live.tick();
    sock.send({ type: 'ping' });
    await sock.next((m) => m.type === 'pong', 5_000);
    // Someone who never saw the video's app is still refused it.
    await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'elsewhere' } });
    const stranger = await createUser(ts, admin, 'stranger@example.com', 'member', ['elsewhere']);
    const t2 = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: stranger.accessToken })).json!.ticket;
    const other = await openSocket(`${ts.url.replace('http', 'ws')}/ws/live?ticket=${t2}`);
    other.send({ type: 'subscribe', topic: `video:${doomed}` });
    expect((await other.closed).code).toBe(4403);
    sock.close();
  });
});

/**
 * The token with its signature's last base64url character changed in the bits no byte uses: base64url decoders
 * ignore them, so the signature still verifies.
 */
function respelled(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.at(-1)!);
  return token.slice(0, -1) + alphabet[last ^ 1];
}
