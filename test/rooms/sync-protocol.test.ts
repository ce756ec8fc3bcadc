// The watch-party sync protocol over real WebSockets, with member clocks offset by up to ±2 s and one-way
// latencies from 20 to 300 ms: clock estimation, timed commands, ordering, locks, late joiners, reconnects,
// kicks and chat limits.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RoomClient } from './room-client.ts';
import { inviteToken, joinAsGuest, joinAsUser, roomFixture, type RoomFixture, wsUrl } from './room-fixture.ts';
import { call } from '../helpers/accounts.ts';

let f: RoomFixture;
const open: RoomClient[] = [];
const track = (c: RoomClient) => (open.push(c), c);

beforeAll(async () => {
  f = await roomFixture();
});
afterAll(async () => {
  for (const c of open) c.close();
  await f.ts.close();
});

/** A fresh room (settings and members of one test do not leak into the next). */
async function freshRoom(): Promise<RoomFixture> {
  const r = await call(f.ts, 'POST', '/api/v1/rooms', { token: f.admin, body: { name: 'Room', videoId: f.videoId } });
  return { ...f, roomId: r.json!.id as string };
}

const NETWORKS = [
  { offsetMs: 2000, latencyMs: 20 },
  { offsetMs: -2000, latencyMs: 300 },
  { offsetMs: 750, latencyMs: 120 },
];

describe('clock sync', () => {
  test('each member estimates the server clock within 20 ms, whatever its offset and latency', async () => {
    const room = await freshRoom();
    const clients = await Promise.all(
      NETWORKS.map(async (n, i) => track(await joinAsGuest(room, await inviteToken(room, `c${i}`), n))),
    );
    await Promise.all(clients.map((c) => c.syncClock(8)));
    for (const [i, c] of clients.entries()) {
      // True serverTime − clientTime is −offset.
      expect(Math.abs(c.clock.offsetMs + NETWORKS[i]!.offsetMs), `client ${i}`).toBeLessThan(20);
      // Each way is held back by a timer: measured with Date.now's whole milliseconds against the timers' own
      // clock, each may read up to 1 ms short (seen: 599 for 2 × 300).
      expect(c.clock.rttMs!).toBeGreaterThanOrEqual(2 * NETWORKS[i]!.latencyMs - 2);
    }
  });
});

describe('timed commands', () => {
  test('a play is applied by every member at the same server time, after it reached all of them', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin, { offsetMs: 1500, latencyMs: 40 }));
    const guests = await Promise.all(
      NETWORKS.map(async (n, i) => track(await joinAsGuest(room, await inviteToken(room, `g${i}`), n))),
    );
    const all = [host, ...guests];
    await Promise.all(all.map((c) => c.syncClock(6)));
    // The server measures round trips from its own pings (answered with the simulated latency).
    await new Promise((r) => setTimeout(r, 700));
    const from = all.map((c) => c.messages.length);
    host.send({ type: 'play', position: 12.5 });
    const commands = await Promise.all(
      all.map((c, i) => c.next((m) => m.type === 'command' && m.action === 'play', 5000, from[i])),
    );
    const at = commands[0]!.at as number;
    for (const [i, c] of all.entries()) {
      const cmd = commands[i]!;
      expect(cmd).toMatchObject({ action: 'play', position: 12.5, at, paused: false, rate: 1 });
      expect(typeof cmd.serverTime).toBe('number');
      // When this member starts (its own clock), mapped to the real server clock.
      const localApply = c.clock.toClient(at);
      const realApply = localApply - c.opts.offsetMs;
      expect(Math.abs(realApply - at), `member ${i}`).toBeLessThan(20);
      // It arrived before it was due.
      const idx = c.messages.indexOf(cmd);
      const arrivedReal = c.receivedAt[idx]! - c.opts.offsetMs;
      expect(arrivedReal, `member ${i} got it in time`).toBeLessThan(at);
    }
    // 2 × the slowest round trip (600 ms+) is above the 500 ms floor, below the 2 s cap.
    expect(at - (commands[0]!.serverTime as number)).toBeGreaterThanOrEqual(600);
    expect(at - (commands[0]!.serverTime as number)).toBeLessThanOrEqual(2000);
  });

  test('seeks are ordered by arrival; the last pause wins; seq grows by one per command', async () => {
    const room = await freshRoom();
    track(await joinAsUser(room, room.admin)); // the host, idle: the tie rule does not apply to the others
    const a = track(await joinAsUser(room, room.member));
    const b = track(await joinAsGuest(room, await inviteToken(room, 'b'), { latencyMs: 50 }));
    const from = a.mark();
    a.send({ type: 'seek', position: 10 });
    await a.after(from, 'command', (m) => m.position === 10);
    b.send({ type: 'seek', position: 20 });
    await a.after(from, 'command', (m) => m.position === 20);
    a.send({ type: 'pause', position: 20.5 });
    b.send({ type: 'pause', position: 21 }); // arrives 50 ms after a's
    await a.after(from, 'command', (m) => m.position === 21);
    const commands = a.messages.slice(from).filter((m) => m.type === 'command');
    expect(commands.map((m) => m.position)).toEqual([10, 20, 20.5, 21]);
    const first = commands[0]!.seq as number;
    expect(commands.map((m) => m.seq)).toEqual([first, first + 1, first + 2, first + 3]);
    const state = (await call(room.ts, 'GET', `/api/v1/rooms/${room.roomId}`, { token: room.admin })).json!.state;
    expect(state).toMatchObject({ position: 21, paused: true });
  });

  test("the host wins a tie: another member's command within 250 ms after the host's is refused", async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    const guest = track(await joinAsGuest(room, await inviteToken(room, 'quick')));
    const from = guest.mark();
    host.send({ type: 'seek', position: 30 });
    await guest.after(from, 'command');
    guest.send({ type: 'seek', position: 40 });
    expect(await guest.after(from, 'error')).toMatchObject({ code: 'CONFLICT' });
    await new Promise((r) => setTimeout(r, 300));
    const h = host.mark();
    guest.send({ type: 'seek', position: 41 });
    await host.after(h, 'command', (m) => m.position === 41);
  });
});

describe('moderation', () => {
  test('a locked room refuses control from members and guests, not from the host', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    const member = track(await joinAsUser(room, room.member));
    const guest = track(await joinAsGuest(room, await inviteToken(room, 'locked out')));
    const g = guest.mark();
    host.send({ type: 'lock', locked: true });
    await guest.after(g, 'room', (m) => m.room.locked === true);
    for (const c of [member, guest]) {
      const from = c.mark();
      c.send({ type: 'play', position: 1 });
      c.send({ type: 'lock', locked: false });
      await c.after(from, 'error', (m) => m.message.includes('lock the room'));
      const errors = c.messages.slice(from).filter((m) => m.type === 'error');
      expect(errors.map((e) => e.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    }
    const g2 = guest.mark();
    host.send({ type: 'play', position: 1 });
    expect(await guest.after(g2, 'command')).toMatchObject({ action: 'play', position: 1 });
  });

  test('kick: the member is told, disconnected with 4403, and cannot come back with the same invite', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    const hostId = (await host.welcome()).memberId as string;
    const token = await inviteToken(room, 'troll');
    const troll = track(await joinAsGuest(room, token));
    const trollId = (await troll.welcome()).memberId as string;
    let t = troll.mark();
    troll.send({ type: 'kick', memberId: hostId });
    expect(await troll.after(t, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    t = troll.mark();
    const h = host.mark();
    host.send({ type: 'kick', memberId: trollId });
    expect(await troll.after(t, 'bye')).toMatchObject({ reason: 'removed by the host' });
    expect((await troll.closed).code).toBe(4403);
    const members = await host.after(h, 'members');
    expect(members.members.map((m: { id: string }) => m.id)).not.toContain(trollId);
    const again = await RoomClient.open(wsUrl(room.ts, room.roomId, `?token=${token}`));
    expect((await again.closed).code).toBe(4403);
  });

  test('hand-over to another member; chat off; chat messages deleted by the host', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.member)); // first registered member: host
    expect((await host.welcome()).role).toBe('host');
    const guest = track(await joinAsGuest(room, await inviteToken(room, 'next host')));
    const guestId = (await guest.welcome()).memberId as string;
    let h = host.mark();
    guest.send({ type: 'chat', text: 'hello all' });
    const chat = await host.after(h, 'chat');
    let g = guest.mark();
    host.send({ type: 'chat-delete', messageId: chat.id });
    expect(await guest.after(g, 'chat-deleted')).toMatchObject({ messageId: chat.id });
    g = guest.mark();
    host.send({ type: 'chat-enabled', enabled: false });
    await guest.after(g, 'room', (m) => m.room.chatEnabled === false);
    g = guest.mark();
    guest.send({ type: 'chat', text: 'anyone?' });
    expect(await guest.after(g, 'error')).toMatchObject({ code: 'CHAT_DISABLED' });
    g = guest.mark();
    host.send({ type: 'host', memberId: guestId });
    await guest.after(g, 'members', (m) => m.hostMemberId === guestId);
    h = host.mark();
    host.send({ type: 'lock', locked: true });
    expect(await host.after(h, 'error')).toMatchObject({ code: 'FORBIDDEN' });
    g = guest.mark();
    guest.send({ type: 'chat-enabled', enabled: true });
    await guest.after(g, 'room', (m) => m.room.chatEnabled === true);
  });
});

describe('joining and leaving', () => {
  test("a late joiner gets the predicted position and nobody's playback is interrupted", async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    const h0 = host.mark();
    host.send({ type: 'play', position: 100 });
    const cmd = await host.after(h0, 'command');
    await new Promise((r) => setTimeout(r, (cmd.at as number) - Date.now() + 1500));
    const from = host.mark();
    const late = track(await joinAsGuest(room, await inviteToken(room, 'late'), { latencyMs: 100 }));
    const w = await late.welcome();
    const expected = 100 + ((w.serverTime as number) - (cmd.at as number)) / 1000;
    expect(w.state.paused).toBe(false);
    expect(Math.abs(w.state.predictedPosition - expected)).toBeLessThan(0.01);
    expect(w.state.predictedPosition).toBeGreaterThan(101.4);
    // The join is handled (the welcome came); a round trip on the host's socket brings anything it caused.
    await host.ping();
    expect(host.messages.slice(from).filter((m) => m.type === 'command')).toEqual([]);
    // The control: a command the host does cause reaches it on the same socket.
    const h1 = host.mark();
    host.send({ type: 'pause', position: 102 });
    await host.after(h1, 'command', (m) => m.action === 'pause');
  });

  test('a reconnect within 60 s keeps id, role and name, silently for the others', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    const token = await inviteToken(room, 'Wanderer');
    const first = await joinAsGuest(room, token);
    const w1 = await first.welcome();
    await host.next((m) => m.type === 'members' && m.members.some((x: { id: string }) => x.id === w1.memberId));
    const from = host.mark();
    first.close();
    await first.closed;
    const second = track(await joinAsGuest(room, token));
    const w2 = await second.welcome();
    expect(w2).toMatchObject({ memberId: w1.memberId, role: 'guest' });
    expect(w2.members.find((m: { id: string }) => m.id === w1.memberId).name).toBe('Wanderer');
    // The rejoin is handled (its welcome came); a round trip on the host's socket brings anything it caused.
    await host.ping();
    // No join or leave announcement: whatever presence goes out lists the same members with the same roles.
    const roster = (list: Array<{ id: string; role: string }>) => list.map((x) => `${x.id}:${x.role}`).join();
    for (const m of host.messages.slice(from).filter((x) => x.type === 'members'))
      expect(roster(m.members)).toBe(roster(w2.members));
    // The control: a newcomer is announced to the host, on the same socket.
    const h = host.mark();
    const newcomer = track(await joinAsGuest(room, await inviteToken(room, 'Newcomer')));
    const wn = await newcomer.welcome();
    await host.after(h, 'members', (m) => m.members.some((x: { id: string }) => x.id === wn.memberId));
  });
});

describe('chat', () => {
  test('history in the welcome, length limit, control characters stripped, burst 4 then 1/s', async () => {
    const room = await freshRoom();
    const host = track(await joinAsUser(room, room.admin));
    let h = host.mark();
    host.send({ type: 'chat', text: 'line\u0007 one\u0000' });
    const first = await host.after(h, 'chat');
    expect(first).toMatchObject({ text: 'line one', name: 'admin' });
    expect(typeof first.videoPosition).toBe('number');
    h = host.mark();
    host.send({ type: 'chat', text: 'x'.repeat(501) });
    expect((await host.after(h, 'error')).message).toMatch(/500 characters/);
    const from = host.mark();
    for (let i = 0; i < 6; i++) host.send({ type: 'chat', text: `burst ${i}` });
    await host.after(from, 'error', (m) => m.code === 'RATE_LIMIT_EXCEEDED');
    // All six are handled once a ping sent after them is answered.
    await host.ping();
    const sent = host.messages.slice(from).filter((m) => m.type === 'chat');
    // Four tokens, one spent on the first line (and a fraction refilled since).
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.length).toBeLessThanOrEqual(4);
    const late = track(await joinAsGuest(room, await inviteToken(room, 'reader')));
    const w = await late.welcome();
    expect(w.chat.map((m: { text: string }) => m.text)).toEqual(['line one', ...sent.map((m) => m.text)]);
  });
});
