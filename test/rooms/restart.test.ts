// A restart of m3w in the middle of a watch party: the room's state, chat, roles and lock come back from the
// store, and members who reconnect (as the room page does on close 1012) continue as the same members.
import { afterAll, expect, test } from 'vitest';
import { setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { RoomClient } from './room-client.ts';
import { inviteToken, joinAsGuest, joinAsUser, roomFixture, ticket, wsUrl } from './room-fixture.ts';

const servers: TestServer[] = [];
const clients: RoomClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
});

/** What the room page does after "server restarting": retry until a welcome arrives. */
async function rejoin(url: () => Promise<string>): Promise<RoomClient> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const c = await RoomClient.open(await url());
      await c.welcome();
      clients.push(c);
      return c;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error('could not reconnect');
}

test('rooms, chat, roles and playback survive a restart; members reconnect as themselves', async () => {
  const dir = makeTempDir();
  const first = await startTestServer({}, dir);
  const admin = (await setupAdmin(first)).accessToken;
  const f = await roomFixture(first, admin);
  const host = await joinAsUser(f, f.admin);
  const memberClient = await joinAsUser(f, f.member);
  const guestToken = await inviteToken(f, 'Guest Star');
  const guest = await joinAsGuest(f, guestToken);
  const ids = {
    host: (await host.welcome()).memberId,
    member: (await memberClient.welcome()).memberId,
    guest: (await guest.welcome()).memberId,
  };
  let g = guest.mark();
  host.send({ type: 'lock', locked: true });
  await guest.after(g, 'room', (m) => m.room.locked);
  g = guest.mark();
  // One after the other: two sockets sending at once have no defined order.
  host.send({ type: 'chat', text: 'popcorn ready' });
  await guest.after(g, 'chat', (m) => m.text === 'popcorn ready');
  g = guest.mark();
  memberClient.send({ type: 'chat', text: 'starting soon' });
  await guest.after(g, 'chat', (m) => m.text === 'starting soon');
  g = guest.mark();
  host.send({ type: 'play', position: 50 });
  const play = await guest.after(g, 'command');

  const port = first.server.port;
  const byes = [host, memberClient, guest].map((c) => c.next((m) => m.type === 'bye'));
  await first.server.close();
  expect((await Promise.all(byes)).map((b) => b.reason)).toEqual(Array(3).fill('server restarting'));
  expect((await guest.closed).code).toBe(1012);

  const second = await startTestServer({ port }, dir);
  servers.push(second);
  const g2 = await rejoin(async () => wsUrl(second, f.roomId, `?token=${guestToken}`));
  const h2 = await rejoin(async () => wsUrl(second, f.roomId, `?ticket=${await ticket(second, f.admin)}`));
  const m2 = await rejoin(async () => wsUrl(second, f.roomId, `?ticket=${await ticket(second, f.member)}`));
  const w = await g2.welcome();
  expect(w.memberId).toBe(ids.guest);
  expect(w.role).toBe('guest');
  expect((await h2.welcome()).memberId).toBe(ids.host);
  expect((await h2.welcome()).role).toBe('host');
  expect((await m2.welcome()).memberId).toBe(ids.member);
  expect(w.room).toMatchObject({ locked: true, hostMemberId: ids.host, name: 'Movie night' });
  expect(w.chat.map((c: { text: string; name: string }) => `${c.name}: ${c.text}`)).toEqual([
    'admin: popcorn ready',
    `${(await m2.welcome()).members.find((x: { id: string }) => x.id === ids.member).name}: starting soon`,
  ]);
  // Still playing, from the same command: the predicted position kept running through the restart.
  expect(w.state).toMatchObject({ paused: false, position: 50, seq: play.seq, at: play.at });
  // Before the command's `at` (possible on a slow machine) the position has not started moving yet.
  expect(w.state.predictedPosition).toBeCloseTo(50 + Math.max(0, w.serverTime - play.at) / 1000, 2);
  // The lock still holds for the guest; the host still controls.
  g = g2.mark();
  g2.send({ type: 'pause', position: 52 });
  expect(await g2.after(g, 'error')).toMatchObject({ code: 'FORBIDDEN' });
  h2.send({ type: 'pause', position: 53 });
  expect(await g2.after(g, 'command')).toMatchObject({ action: 'pause', position: 53, by: ids.host });
});
