// The rooms REST API: create, read, list, change, delete and invite, scoped to the caller's apps, with bodies
// checked field by field; changes reach the members connected to the room.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createUser } from '../helpers/accounts.ts';
import { inviteToken, joinAsGuest, joinAsUser, roomFixture, type RoomFixture, videoRow } from './room-fixture.ts';

let f: RoomFixture;
let otherAppVideo: string;
let outsider: string;

beforeAll(async () => {
  f = await roomFixture();
  await call(f.ts, 'POST', '/api/v1/apps', { token: f.admin, body: { id: 'other-app' } });
  otherAppVideo = await videoRow(f.ts, 'other-app');
  outsider = (await createUser(f.ts, f.admin, 'outsider@example.com', 'member', ['other-app'])).accessToken;
});
afterAll(async () => {
  await f.ts.close();
});

describe('rooms API', () => {
  test('create: 201 with the room, its host and invite URL; the creating member is the host', async () => {
    const r = await call(f.ts, 'POST', '/api/v1/rooms', {
      token: f.member,
      body: { name: 'Friday film', videoId: f.videoId, locked: true },
    });
    expect(r.status).toBe(201);
    const me = (await call(f.ts, 'GET', '/api/v1/me', { token: f.member })).json!;
    expect(r.json).toMatchObject({
      name: 'Friday film',
      videoId: f.videoId,
      appId: 'default',
      locked: true,
      hostUserId: me.id ?? me.user?.id,
      inviteUrl: `${f.ts.url}/rooms/${r.json!.id}`,
      state: { position: 0, paused: true, rate: 1 },
    });
    expect(typeof r.json!.createdAt).toBe('number');
    const got = await call(f.ts, 'GET', `/api/v1/rooms/${r.json!.id}`, { token: f.admin });
    expect(got.json).toMatchObject({ id: r.json!.id, name: 'Friday film' });
    const list = await call(f.ts, 'GET', '/api/v1/rooms?app=default', { token: f.member });
    expect(list.json!.rooms.map((x: { id: string }) => x.id)).toContain(r.json!.id);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['no name', { videoId: 'abcdefgh1' }, /^name/],
    ['an empty name', { name: '', videoId: 'abcdefgh1' }, /^name/],
    ['a long name', { name: 'n'.repeat(101), videoId: 'abcdefgh1' }, /^name/],
    ['no video', { name: 'x' }, /^videoId/],
    ['a video id with a path', { name: 'x', videoId: '../../etc' }, /^videoId/],
    ['locked as a string', { name: 'x', videoId: 'abcdefgh1', locked: 'yes' }, /^locked/],
  ];
  for (const [what, body, message] of bad)
    test(`create refused: ${what} (400)`, async () => {
      const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body });
      expect(r.status).toBe(400);
      expect(r.json!.error.code).toBe('INVALID_SCHEMA');
      expect(r.json!.error.message).toMatch(message);
    });

  test("another app's video or room answers 404, and nothing is created", async () => {
    const before = (await call(f.ts, 'GET', '/api/v1/rooms?app=default', { token: f.member })).json!.rooms.length;
    const r = await call(f.ts, 'POST', '/api/v1/rooms', {
      token: f.member,
      body: { name: 'x', videoId: otherAppVideo },
    });
    expect(r.status).toBe(404);
    expect((await call(f.ts, 'GET', '/api/v1/rooms?app=default', { token: f.member })).json!.rooms.length).toBe(before);
    for (const [method, path] of [
      ['GET', `/api/v1/rooms/${f.roomId}`],
      ['PUT', `/api/v1/rooms/${f.roomId}`],
      ['DELETE', `/api/v1/rooms/${f.roomId}`],
      ['POST', `/api/v1/rooms/${f.roomId}/invites`],
      ['POST', `/api/v1/rooms/${f.roomId}/playback`],
    ] as const) {
      const res = await call(f.ts, method, path, {
        token: outsider,
        body: method === 'PUT' ? { name: 'mine' } : method === 'POST' ? {} : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // A video of another app cannot be put in this room either.
    const put = await call(f.ts, 'PUT', `/api/v1/rooms/${f.roomId}`, {
      token: f.admin,
      body: { videoId: otherAppVideo },
    });
    expect(put.status).toBe(404);
  });

  test('invites: a guest token for room:<id> and its join URL; the guest joins under the display name', async () => {
    const r = await call(f.ts, 'POST', `/api/v1/rooms/${f.roomId}/invites`, {
      token: f.member,
      body: { displayName: 'Aunt May', ttlSeconds: 600 },
    });
    expect(r.status).toBe(201);
    expect(r.json!.joinUrl).toBe(`${f.ts.url}/rooms/${f.roomId}#${r.json!.token}`);
    expect(r.json!.expiresAt).toBeGreaterThan(Date.now() + 590_000);
    expect(r.json!.expiresAt).toBeLessThan(Date.now() + 610_000);
    const c = await joinAsGuest(f, r.json!.token);
    const w = await c.welcome();
    expect(w.role).toBe('guest');
    expect(w.members.find((m: { id: string }) => m.id === w.memberId).name).toBe('Aunt May');
    c.close();
    for (const body of [{ ttlSeconds: 10 }, { displayName: '' }, { ttlSeconds: 'soon' }]) {
      const bad = await call(f.ts, 'POST', `/api/v1/rooms/${f.roomId}/invites`, { token: f.member, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
    }
  });

  test('PUT: name and lock reach connected members; a new video stops everyone at its start', async () => {
    const r = await call(f.ts, 'POST', '/api/v1/rooms', {
      token: f.admin,
      body: { name: 'Before', videoId: f.videoId },
    });
    const room = { ...f, roomId: r.json!.id as string };
    const host = await joinAsUser(room, f.admin);
    const guest = await joinAsGuest(room, await inviteToken(room, 'g'));
    let g = guest.mark();
    const put = await call(f.ts, 'PUT', `/api/v1/rooms/${room.roomId}`, {
      token: f.member,
      body: { name: 'After', locked: true },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ name: 'After', locked: true, membersConnected: 2 });
    await guest.after(g, 'room', (m) => m.room.name === 'After' && m.room.locked === true);
    host.send({ type: 'play', position: 30 });
    await guest.after(g, 'command', (m) => m.action === 'play');
    const newVideo = await videoRow(f.ts);
    g = guest.mark();
    const change = await call(f.ts, 'PUT', `/api/v1/rooms/${room.roomId}`, {
      token: f.admin,
      body: { videoId: newVideo },
    });
    expect(change.json).toMatchObject({ videoId: newVideo, state: { position: 0, paused: true } });
    await guest.after(g, 'room', (m) => m.room.videoId === newVideo);
    expect(await guest.after(g, 'command')).toMatchObject({ action: 'pause', position: 0, by: 'server' });
    host.close();
    guest.close();
  });

  test('DELETE: members are told and disconnected (4404); the room, its members and chat are gone', async () => {
    const r = await call(f.ts, 'POST', '/api/v1/rooms', {
      token: f.admin,
      body: { name: 'Doomed', videoId: f.videoId },
    });
    const room = { ...f, roomId: r.json!.id as string };
    const guest = await joinAsGuest(room, await inviteToken(room, 'g'));
    guest.send({ type: 'chat', text: 'hi' });
    await guest.next((m) => m.type === 'chat');
    expect((await call(f.ts, 'DELETE', `/api/v1/rooms/${room.roomId}`, { token: f.member })).status).toBe(204);
    expect(await guest.next((m) => m.type === 'bye')).toMatchObject({ reason: 'room deleted' });
    expect((await guest.closed).code).toBe(4404);
    expect((await call(f.ts, 'GET', `/api/v1/rooms/${room.roomId}`, { token: f.admin })).status).toBe(404);
    expect(await f.ts.server.store.rooms.listRoomMembers(room.roomId)).toEqual([]);
    expect(await f.ts.server.store.rooms.recentChat(room.roomId, 50)).toEqual([]);
  });

  test('deleting the app deletes its rooms', async () => {
    await call(f.ts, 'POST', '/api/v1/apps', { token: f.admin, body: { id: 'short-lived' } });
    const v = await videoRow(f.ts, 'short-lived');
    const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'x', videoId: v } });
    expect(r.status).toBe(201);
    expect((await call(f.ts, 'DELETE', '/api/v1/apps/short-lived', { token: f.admin })).status).toBeLessThan(300);
    expect(await f.ts.server.store.rooms.getRoom(r.json!.id)).toBeNull();
  });

  test('the room protocol is described in /openapi.json', async () => {
    const doc = (await call(f.ts, 'GET', '/openapi.json')).json!;
    expect(doc.paths['/ws/rooms/{id}'].get.description).toMatch(/command \{action, position/);
    expect(doc.components.schemas.Room).toBeDefined();
  });
});
