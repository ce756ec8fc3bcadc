// A stranger's attacks on the room surfaces, each a hole that was open once: guest tokens minted for another
// app's room or video, sockets that outlived a revoked grant, a disabled user, a deleted app or an expired
// invite, names that pass for someone else, a guest host locking the owner out, and a crowd of sockets from one
// client. Each is refused (4xx, an `error`, or a close code) and the room goes on.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN, call, CookieClient, createUser } from '../helpers/accounts.ts';
import { startTestServer } from '../helpers/server.ts';
import { RoomClient } from './room-client.ts';
import {
  inviteToken,
  joinAsGuest,
  joinAsUser,
  roomFixture,
  type RoomFixture,
  ticket,
  videoRow,
  wsUrl,
} from './room-fixture.ts';

let f: RoomFixture;
let otherApp: { videoId: string; roomId: string };
const open: RoomClient[] = [];
const track = (c: RoomClient) => (open.push(c), c);

beforeAll(async () => {
  f = await roomFixture();
  expect((await call(f.ts, 'POST', '/api/v1/apps', { token: f.admin, body: { id: 'elsewhere' } })).status).toBe(201);
  const videoId = await videoRow(f.ts, 'elsewhere', 60_000);
  const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Theirs', videoId } });
  otherApp = { videoId, roomId: r.json!.id as string };
});
afterAll(async () => {
  for (const c of open) c.close();
  await f.ts.close();
});

async function freshRoom(): Promise<RoomFixture> {
  const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Room', videoId: f.videoId } });
  return { ...f, roomId: r.json!.id as string };
}

async function userId(email: string): Promise<number> {
  const users = (await call(f.ts, 'GET', '/api/v1/users', { token: f.admin })).json!;
  return ((users.users ?? users) as Array<{ id: number; email: string }>).find((u) => u.email === email)!.id;
}

describe("another app's room through REST", () => {
  test('a member of one app gets no guest token, invite or playback for the room or video of another (404)', async () => {
    for (const resource of [`room:${otherApp.roomId}`, `video:${otherApp.videoId}`]) {
      const r = await call(f.ts, 'POST', '/api/v1/guest-tokens', { token: f.member, body: { resource } });
      expect(r.status).toBe(404);
      expect(r.json!.error.code).toBe('NOT_FOUND');
      expect(JSON.stringify(r.json)).not.toContain('"token"');
    }
    const invite = await call(f.ts, 'POST', `/api/v1/rooms/${otherApp.roomId}/invites`, { token: f.member, body: {} });
    expect(invite.status).toBe(404);
    const playback = await call(f.ts, 'POST', `/api/v1/rooms/${otherApp.roomId}/playback`, { token: f.member });
    expect(playback.status).toBe(404);
    expect((await call(f.ts, 'GET', '/api/v1/rooms?app=elsewhere', { token: f.member })).status).toBe(404);
    // Their own app's room still gets one, and it opens that room.
    const own = await call(f.ts, 'POST', '/api/v1/guest-tokens', {
      token: f.member,
      body: { resource: `room:${f.roomId}`, displayName: 'Pat' },
    });
    expect(own.status).toBe(201);
    const guest = track(await joinAsGuest(f, own.json!.token));
    expect((await guest.welcome()).role).toBe('guest');
  });

  test('a guest token of one room does not open another, nor the REST API', async () => {
    const token = await inviteToken(f, 'wanderer');
    const c = track(await RoomClient.open(wsUrl(f.ts, otherApp.roomId, `?token=${token}`)));
    expect((await c.closed).code).toBe(4401);
    for (const [method, path] of [
      ['GET', `/api/v1/rooms/${f.roomId}`],
      ['POST', `/api/v1/rooms/${f.roomId}/invites`],
      ['DELETE', `/api/v1/rooms/${f.roomId}`],
      ['POST', '/api/v1/guest-tokens'],
    ] as const)
      expect((await call(f.ts, method, path, { token, body: method === 'POST' ? {} : undefined })).status).toBe(401);
  });
});

describe('access taken away while connected', () => {
  test('a revoked grant closes the member’s socket (4404) at once; the others stay', async () => {
    const room = await freshRoom();
    const user = await createUser(f.ts, f.admin, 'revoked@example.com', 'member', ['default']);
    const host = track(await joinAsUser(room, f.admin));
    const member = track(await joinAsUser(room, user.accessToken));
    const revoke = await call(f.ts, 'DELETE', `/api/v1/users/${await userId('revoked@example.com')}/apps/default`, {
      token: f.admin,
    });
    expect(revoke.status).toBe(204);
    expect((await member.closed).code).toBe(4404);
    expect(member.messages.some((m) => m.type === 'bye')).toBe(true);
    // The same login cannot come back in: the upgrade is taken and the socket closed with 4404, no welcome
    // (a socket refused some other way, or never closed, fails here).
    const again = track(
      await RoomClient.open(wsUrl(f.ts, room.roomId, `?ticket=${await ticket(f.ts, user.accessToken)}`)),
    );
    expect((await again.closed).code).toBe(4404);
    expect(again.messages.some((m) => m.type === 'welcome')).toBe(false);
    const o = host.mark();
    host.send({ type: 'chat', text: 'still here' });
    await host.after(o, 'chat', (m) => m.text === 'still here');
  });

  test('an admin demoted to member while connected loses the moderator powers at once', async () => {
    const room = await freshRoom();
    // A member of the app, made admin: demoted again, they keep the app (their grant) but not the powers.
    const user = await createUser(f.ts, f.admin, 'demoted@example.com', 'member', ['default']);
    const promote = await call(f.ts, 'PATCH', `/api/v1/users/${await userId('demoted@example.com')}`, {
      token: f.admin,
      body: { role: 'admin' },
    });
    expect(promote.status).toBe(200);
    const host = track(await joinAsUser(room, f.admin));
    const other = track(await joinAsGuest(room, await inviteToken(room, 'bystander')));
    const demoted = track(await joinAsUser(room, user.accessToken));
    const id = (await demoted.welcome()).memberId;
    expect((await demoted.welcome()).role).toBe('admin');
    const r = await call(f.ts, 'PATCH', `/api/v1/users/${await userId('demoted@example.com')}`, {
      token: f.admin,
      body: { role: 'member' },
    });
    expect(r.status).toBe(200);
    await host.next((m) => m.type === 'members' && m.members.some((x: any) => x.id === id && x.role === 'member'));
    const o = demoted.mark();
    demoted.send({ type: 'kick', memberId: (await other.welcome()).memberId });
    expect((await demoted.after(o, 'error')).code).toBe('FORBIDDEN');
  });

  test('a disabled user is closed with 4401', async () => {
    const room = await freshRoom();
    const user = await createUser(f.ts, f.admin, 'disabled@example.com', 'member', ['default']);
    const member = track(await joinAsUser(room, user.accessToken));
    const r = await call(f.ts, 'PATCH', `/api/v1/users/${await userId('disabled@example.com')}`, {
      token: f.admin,
      body: { disabled: true },
    });
    expect(r.status).toBe(200);
    expect((await member.closed).code).toBe(4401);
  });

  test("deleting a room's app tells its members and closes them (4404); a later join finds no room", async () => {
    expect((await call(f.ts, 'POST', '/api/v1/apps', { token: f.admin, body: { id: 'doomed' } })).status).toBe(201);
    const v = await videoRow(f.ts, 'doomed', 60_000);
    const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Doomed', videoId: v } });
    const room = { ...f, roomId: r.json!.id as string };
    const token = await inviteToken(room, 'doomed guest');
    const guest = track(await joinAsGuest(room, token));
    expect((await call(f.ts, 'DELETE', '/api/v1/apps/doomed', { token: f.admin })).status).toBe(204);
    expect(await guest.next((m) => m.type === 'bye')).toMatchObject({ reason: 'room deleted' });
    expect((await guest.closed).code).toBe(4404);
    const late = track(await RoomClient.open(wsUrl(f.ts, room.roomId, `?token=${token}`)));
    expect((await late.closed).code).toBe(4404);
  });

  test('a guest is closed (4401) when the invite is revoked, and cannot come back with it', async () => {
    const room = await freshRoom();
    const token = await inviteToken(room, 'revoked guest');
    const guest = track(await joinAsGuest(room, token));
    const stays = track(await joinAsGuest(room, await inviteToken(room, 'kept guest')));
    const r = await call(f.ts, 'POST', '/api/v1/guest-tokens/revoke', { token: f.admin, body: { token } });
    expect(r.status).toBe(204);
    const closed = await guest.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/revoked/);
    const again = track(await RoomClient.open(wsUrl(f.ts, room.roomId, `?token=${token}`)));
    expect((await again.closed).code).toBe(4401);
    expect((await call(f.ts, 'POST', `/api/v1/rooms/${room.roomId}/playback`, { token })).status).toBe(401);
    // The same signed token spelled otherwise (a spare bit of the signature's last base64url character, which
    // decoders ignore) is the revoked token too, not a new one.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1];
    const disguised = track(await RoomClient.open(wsUrl(f.ts, room.roomId, `?token=${respelled}`)));
    expect((await disguised.closed).code).toBe(4401);
    const o = stays.mark();
    stays.send({ type: 'chat', text: 'still here' });
    await stays.after(o, 'chat', (m) => m.text === 'still here');
  });

  test('a guest is closed (4401) when the invite expires, and cannot come back with it', async () => {
    const room = await freshRoom();
    const token = await f.ts.server.accounts.signer.signGuest(`room:${room.roomId}`, 'brief', 2);
    const guest = track(await joinAsGuest(room, token));
    const closed = await guest.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
    const again = track(await RoomClient.open(wsUrl(f.ts, room.roomId, `?token=${token}`)));
    expect((await again.closed).code).toBe(4401);
  }, 15_000);
});

describe('names and moderation', () => {
  test('invisible formatting is taken out of display names (an invite’s and an old token’s alike)', async () => {
    const room = await freshRoom();
    const r = await call(f.ts, 'POST', `/api/v1/rooms/${room.roomId}/invites`, {
      token: f.admin,
      body: { displayName: '\u202Etsoh\u200b <b>x</b>' },
    });
    expect(r.status).toBe(201);
    expect(r.json!.displayName).toBe('tsoh <b>x</b>');
    const invisible = await call(f.ts, 'POST', `/api/v1/rooms/${room.roomId}/invites`, {
      token: f.admin,
      body: { displayName: '\u200b\u202e' },
    });
    expect(invisible.status).toBe(400);
    // A token signed before the rule (straight from the signer) is cleaned on joining.
    const old = await f.ts.server.accounts.signer.signGuest(`room:${room.roomId}`, 'h\u202Eost\u2028', 600);
    const guest = track(await joinAsGuest(room, old));
    const w = await guest.welcome();
    expect(w.members.find((m: { id: string }) => m.id === w.memberId).name).toBe('host');
  });

  test('chat with HTML is kept and sent as plain text, exactly as typed', async () => {
    const room = await freshRoom();
    const guest = track(await joinAsGuest(room, await inviteToken(room, 'html')));
    const text = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const o = guest.mark();
    guest.send({ type: 'chat', text });
    expect((await guest.after(o, 'chat')).text).toBe(text);
  });

  test("a guest made host cannot remove the room's owner or an admin; members it may", async () => {
    const room = await freshRoom();
    const owner = track(await joinAsUser(room, f.admin));
    const member = track(await joinAsUser(room, f.member));
    const guest = track(await joinAsGuest(room, await inviteToken(room, 'usurper')));
    const guestId = (await guest.welcome()).memberId;
    owner.send({ type: 'host', memberId: guestId });
    await guest.next((m) => m.type === 'members' && m.hostMemberId === guestId);
    const ownerId = (await owner.welcome()).memberId;
    const o = guest.mark();
    guest.send({ type: 'kick', memberId: ownerId });
    expect((await guest.after(o, 'error')).code).toBe('FORBIDDEN');
    guest.send({ type: 'kick', memberId: (await member.welcome()).memberId });
    expect((await member.closed).code).toBe(4403);
    // The owner is still in, and can take the role back.
    owner.send({ type: 'host', memberId: ownerId });
    await owner.next((m) => m.type === 'members' && m.hostMemberId === ownerId);
  });

  test('200 sockets without credentials from one client are all closed (4401) and add nobody', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, f.admin));
    const codes = await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<number>((resolve) => {
            const ws = new WebSocket(wsUrl(f.ts, room.roomId));
            ws.on('close', (code) => resolve(code));
            ws.on('error', () => resolve(-1));
          }),
      ),
    );
    expect(new Set(codes)).toEqual(new Set([4401]));
    expect(f.ts.server.rooms.live(room.roomId)?.memberCount).toBe(1);
    const o = host.mark();
    host.send({ type: 'seek', position: 3 });
    await host.after(o, 'command', (m) => m.position === 3);
  });
});

describe('behind a proxy', () => {
  test('a cookie upgrade from the configured publicUrl is this server’s page; another site is still refused', async () => {
    const ts = await startTestServer({ publicUrl: 'https://watch.example.com' });
    try {
      const room = await roomFixture(ts);
      const browser = new CookieClient(ts);
      await browser.call('POST', '/api/v1/auth/login', { body: { ...ADMIN, session: 'cookie' } });
      const cookie = [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const proxied = await RoomClient.open(wsUrl(ts, room.roomId), {
        headers: { cookie, origin: 'https://watch.example.com' },
      });
      expect((await proxied.welcome()).role).toBe('host');
      proxied.close();
      const evil = await RoomClient.open(wsUrl(ts, room.roomId), {
        headers: { cookie, origin: 'https://evil.example' },
      });
      expect((await evil.closed).code).toBe(4403);
    } finally {
      await ts.close();
    }
  });
});
