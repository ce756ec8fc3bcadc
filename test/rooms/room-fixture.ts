// A real m3w with a room in it: the admin (host), a member of the app, a video row, and helpers to invite
// guests and open room connections as each of them.
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type ClientOptions, RoomClient } from './room-client.ts';

export interface RoomFixture {
  ts: TestServer;
  admin: string;
  member: string;
  roomId: string;
  videoId: string;
}

let seq = 0;

export async function videoRow(ts: TestServer, appId = 'default', durationMs: number | null = null): Promise<string> {
  const id = `roomvideo${Date.now().toString(36)}${++seq}`;
  await ts.server.store.videos.createVideo({
    id,
    appId,
    title: 'room test',
    status: 'uploading',
    uploadLength: 10,
    createdAt: Date.now(),
  });
  if (durationMs !== null)
    await ts.server.store.videos.queueVideo(
      id,
      { sourceBytes: 10, durationMs, width: 160, height: 90, sourceInfo: '{}' },
      [],
      Date.now(),
    );
  return id;
}

export async function roomFixture(ts?: TestServer, admin?: string): Promise<RoomFixture> {
  ts ??= await startTestServer();
  admin ??= (await setupAdmin(ts)).accessToken;
  const member = (await createUser(ts, admin, `member${++seq}@example.com`, 'member', ['default'])).accessToken;
  const videoId = await videoRow(ts, 'default', 600_000);
  const r = await call(ts, 'POST', '/api/v1/rooms', { token: admin, body: { name: 'Movie night', videoId } });
  if (r.status !== 201) throw new Error(`room: ${r.status} ${JSON.stringify(r.json)}`);
  return { ts, admin, member, roomId: r.json!.id as string, videoId };
}

export const wsUrl = (ts: TestServer, roomId: string, query = '') =>
  `${ts.url.replace(/^http/, 'ws')}/ws/rooms/${roomId}${query}`;

export async function inviteToken(f: RoomFixture, displayName: string, roomId = f.roomId): Promise<string> {
  const r = await call(f.ts, 'POST', `/api/v1/rooms/${roomId}/invites`, { token: f.admin, body: { displayName } });
  if (r.status !== 201) throw new Error(`invite: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json!.token as string;
}

export async function ticket(ts: TestServer, token: string): Promise<string> {
  return (await call(ts, 'POST', '/api/v1/ws-ticket', { token })).json!.ticket as string;
}

/** Opens a room connection as a signed-in user (ticket) and waits for the welcome. */
export async function joinAsUser(f: RoomFixture, token: string, opts: ClientOptions = {}): Promise<RoomClient> {
  const c = await RoomClient.open(wsUrl(f.ts, f.roomId, `?ticket=${await ticket(f.ts, token)}`), opts);
  await c.welcome();
  return c;
}

export async function joinAsGuest(
  f: RoomFixture,
  token: string,
  opts: ClientOptions = {},
  roomId = f.roomId,
): Promise<RoomClient> {
  const c = await RoomClient.open(wsUrl(f.ts, roomId, `?token=${token}`), opts);
  await c.welcome();
  return c;
}
