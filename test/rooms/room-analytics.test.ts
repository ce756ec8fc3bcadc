// Room analytics through the streams API, with `room:<id>` as the stream: per-minute figures (viewers, chat
// messages and rate, unique chatters, top emotes, sentiment), hourly buckets, the live feeds (/ws/live/room:<id>
// and the stream topic) with the minute in progress, moments (a chat spike) found by the minute job, and the
// scoping: only callers who see the room's app read any of it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createUser } from '../helpers/accounts.ts';
import { openSocket } from '../helpers/ws-client.ts';
import type { RoomMinuteRecord } from '../../src/store/index.ts';
import { inviteToken, joinAsGuest, joinAsUser, roomFixture, type RoomFixture } from './room-fixture.ts';
import type { RoomClient } from './room-client.ts';

const MINUTE = 60_000;
let f: RoomFixture;
let readKey: string;
let otherKey: string;
let outsider: string;
const open: RoomClient[] = [];

beforeAll(async () => {
  f = await roomFixture();
  readKey = (
    await call(f.ts, 'POST', '/api/v1/apps/default/keys', { token: f.admin, body: { name: 'r', scopes: ['read'] } })
  ).json!.key as string;
  await call(f.ts, 'POST', '/api/v1/apps', { token: f.admin, body: { id: 'another' } });
  otherKey = (
    await call(f.ts, 'POST', '/api/v1/apps/another/keys', { token: f.admin, body: { name: 'o', scopes: ['read'] } })
  ).json!.key as string;
  outsider = (await createUser(f.ts, f.admin, 'outside@example.com', 'member', ['another'])).accessToken;
});
afterAll(async () => {
  for (const c of open) c.close();
  await f.ts.close();
});

async function freshRoom(): Promise<string> {
  const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Stats', videoId: f.videoId } });
  return r.json!.id as string;
}

const minuteRow = (roomId: string, minute: number, over: Partial<RoomMinuteRecord> = {}): RoomMinuteRecord => ({
  roomId,
  appId: 'default',
  minute,
  viewers: 3,
  messages: 2,
  uniqueChatters: 2,
  topEmotes: [],
  sentiment: null,
  sentimentN: 0,
  ...over,
});

const get = (path: string, headers: Record<string, string>) =>
  fetch(`${f.ts.url}${path}`, { headers }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));

describe('/api/v1/streams/room:<id>/metrics', () => {
  test('one point per minute in the streams shape, with the chat figures; hours sum and peak them', async () => {
    const roomId = await freshRoom();
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const rooms = f.ts.server.store.rooms;
    await rooms.addRoomMinute(
      minuteRow(roomId, hour, {
        viewers: 4,
        messages: 12,
        uniqueChatters: 3,
        topEmotes: [
          { emote: '🎉', count: 5 },
          { emote: ':pog:', count: 2 },
        ],
        sentiment: 1.5,
        sentimentN: 10,
      }),
    );
    // The same minute again (a restart split it): added up, not replaced.
    await rooms.addRoomMinute(
      minuteRow(roomId, hour, {
        viewers: 2,
        messages: 3,
        uniqueChatters: 1,
        topEmotes: [{ emote: ':pog:', count: 4 }],
        sentiment: -1,
        sentimentN: 5,
      }),
    );
    await rooms.addRoomMinute(minuteRow(roomId, hour + 2 * MINUTE, { viewers: 6, messages: 1, uniqueChatters: 1 }));

    const r = await get(`/api/v1/streams/room:${roomId}/metrics?from=${hour}&to=${hour + 3 * MINUTE}`, {
      'x-api-key': readKey,
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ channel: `room:${roomId}`, step: 60 });
    expect(r.json.points).toHaveLength(3);
    expect(r.json.points[0]).toEqual({
      t: hour,
      viewers: 4,
      peak_concurrent: 4,
      chat_messages: 15,
      chat_rate: 15,
      unique_chatters: 3,
      top_emotes: [
        { emote: ':pog:', count: 6 },
        { emote: '🎉', count: 5 },
      ],
      sentiment: 0.667,
    });
    expect(r.json.points[1]).toMatchObject({ viewers: 0, chat_messages: 0, top_emotes: [], sentiment: null });

    const hours = await get(`/api/v1/streams/room:${roomId}/metrics?from=${hour}&to=${hour + 3_600_000}&step=3600`, {
      'x-api-key': readKey,
    });
    expect(hours.json.points).toEqual([
      expect.objectContaining({ t: hour, viewers: 6, chat_messages: 16, chat_rate: 0.267, unique_chatters: 3 }),
    ]);
  });

  test("only callers who see the room's app: others get 404, whatever they try", async () => {
    const roomId = await freshRoom();
    const path = `/api/v1/streams/room:${roomId}/metrics`;
    expect((await get(path, {})).status).toBe(401);
    expect((await get(path, { authorization: `Bearer ${f.member}` })).status).toBe(200);
    const strangers: Array<Record<string, string>> = [
      { 'x-api-key': otherKey },
      { authorization: `Bearer ${outsider}` },
    ];
    for (const headers of strangers) {
      const r = await get(path, headers);
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe('NOT_FOUND');
    }
    expect((await get(`${path}?app=another`, { authorization: `Bearer ${f.admin}` })).status).toBe(404);
    expect((await get('/api/v1/streams/room:nosuchroom1/metrics', { 'x-api-key': readKey })).status).toBe(404);
    expect((await get('/api/v1/streams/room:../x/metrics', { 'x-api-key': readKey })).status).toBe(404);
    expect((await get(`/api/v1/streams/room:${roomId}/moments`, { 'x-api-key': otherKey })).status).toBe(404);
    // A guest of the room has no read access to analytics.
    const guest = await inviteToken(f, 'nosy', roomId);
    expect((await get(path, { authorization: `Bearer ${guest}` })).status).toBe(401);
  });
});

describe('live', () => {
  test('/ws/live/room:<id> and the stream topic carry the minute in progress: viewers, messages, emotes', async () => {
    const roomId = await freshRoom();
    const room = { ...f, roomId };
    const host = await joinAsUser(room, f.admin);
    const guest = await joinAsGuest(room, await inviteToken(room, 'fan'));
    open.push(host, guest);
    const legacy = await openSocket(`${f.ts.url.replace(/^http/, 'ws')}/ws/live/room:${roomId}`, {
      'x-api-key': readKey,
    });
    expect(await legacy.next((m) => m.type === 'welcome')).toMatchObject({ streamId: `room:${roomId}` });
    // All chat below must fall in one minute ("current"): not in a minute's last 20 s (a loaded machine is slow).
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    guest.send({ type: 'chat', text: 'here we go 🎉 :hype:' });
    host.send({ type: 'chat', text: '🎉' });
    const m = await legacy.next(
      (x) => x.type === 'metrics' && (x.current as { chat_messages?: number } | null)?.chat_messages === 2,
      10_000,
    );
    expect(m).toMatchObject({ room: roomId, viewers: 2, moments: [] });
    expect((m.current as Record<string, unknown>).top_emotes).toEqual([
      { emote: '🎉', count: 2 },
      { emote: ':hype:', count: 1 },
    ]);
    expect(m.current).toMatchObject({ viewers: 2, unique_chatters: 2 });
    // The mood is AFINN's per-word score, emoji included (🎉 is a happy one); a hateful line pulls it down.
    const before = (m.current as { sentiment: number }).sentiment;
    expect(before).toBeGreaterThan(0);
    guest.send({ type: 'chat', text: 'this is awful, I hate it' });
    const mood = await legacy.next(
      (x) => x.type === 'metrics' && (x.current as { chat_messages?: number } | null)?.chat_messages === 3,
      10_000,
    );
    expect((mood.current as { sentiment: number }).sentiment).toBeLessThan(before);
    // The host sees the same figures in the room.
    await host.next((x) => x.type === 'stats' && x.current.messages === 3, 10_000);
    expect(guest.messages.filter((x) => x.type === 'stats')).toEqual([]);

    const topic = await openSocket(`${f.ts.url.replace(/^http/, 'ws')}/ws/live`, { 'x-api-key': readKey });
    topic.send({ type: 'subscribe', topic: `stream:default:room:${roomId}` });
    const update = await topic.next((x) => x.type === 'update', 10_000);
    expect(update.data).toMatchObject({ room: roomId, viewers: 2 });
    legacy.close();
    topic.close();

    // Another app's key may follow neither.
    const refused = await openSocket(`${f.ts.url.replace(/^http/, 'ws')}/ws/live/room:${roomId}`, {
      'x-api-key': otherKey,
    });
    expect((await refused.closed).code).toBe(4403);
    const other = await openSocket(`${f.ts.url.replace(/^http/, 'ws')}/ws/live`, { 'x-api-key': otherKey });
    await other.next((x) => x.type === 'welcome');
    // Named under their own app, the room is still not theirs.
    other.send({ type: 'subscribe', topic: `stream:another:room:${roomId}` });
    expect((await other.closed).code).toBe(4403);
  }, 90_000);
});

describe('moments', () => {
  test('a chat spike in a room becomes a moment of that room, read through the streams API', async () => {
    const roomId = await freshRoom();
    const now = Date.now();
    // The spike is the current minute, and the job is run as if two minutes later: whether or not the scheduled
    // job has already passed this minute, the run covers it.
    const spike = Math.floor(now / MINUTE) * MINUTE;
    for (let i = 40; i >= 1; i--)
      await f.ts.server.store.rooms.addRoomMinute(
        minuteRow(roomId, spike - i * MINUTE, { messages: 2 + (i % 3), uniqueChatters: 2 }),
      );
    await f.ts.server.store.rooms.addRoomMinute(minuteRow(roomId, spike, { messages: 90, uniqueChatters: 5 }));
    await f.ts.server.analytics.runMinuteJob(now + 2 * MINUTE);
    const r = await get(`/api/v1/streams/room:${roomId}/moments?to=${now + 3 * MINUTE}`, { 'x-api-key': readKey });
    expect(r.status).toBe(200);
    expect(r.json.moments).toEqual([
      expect.objectContaining({
        kind: 'spike',
        metric: 'chat_messages',
        dimension: 'room',
        value: roomId,
        appId: 'default',
        startedAt: spike,
        peakValue: 90,
      }),
    ]);
    // Not another app's to see.
    const all = await get(`/api/v1/moments?from=${spike - MINUTE}&to=${now + 3 * MINUTE}`, { 'x-api-key': otherKey });
    expect(all.status).toBe(200);
    expect(JSON.stringify(all.json)).not.toContain(roomId);
  });

  test("a room's figures go with the room", async () => {
    const roomId = await freshRoom();
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    await f.ts.server.store.rooms.addRoomMinute(minuteRow(roomId, minute));
    expect(await f.ts.server.store.rooms.roomMinutes(roomId, minute, minute + MINUTE)).toHaveLength(1);
    expect((await call(f.ts, 'DELETE', `/api/v1/rooms/${roomId}`, { token: f.admin })).status).toBe(204);
    expect(await f.ts.server.store.rooms.roomMinutes(roomId, minute, minute + MINUTE)).toEqual([]);
    // A late minute of a deleted room is not stored.
    await f.ts.server.store.rooms.addRoomMinute(minuteRow(roomId, minute));
    expect(await f.ts.server.store.rooms.roomMinutes(roomId, minute, minute + MINUTE)).toEqual([]);
  });
});
