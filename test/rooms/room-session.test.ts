// The room's timed rules, driven with a controlled clock through the session itself (no sockets): host
// hand-over after its grace, the reconnect grace, heartbeats, buffering waits without pause storms.
import { describe, expect, test } from 'vitest';
import { RoomSession, ROOM_TIMING } from '../../src/rooms/index.ts';
import type { MemberLink } from '../../src/rooms/room-session.ts';
import type { ChatRecord, RoomMemberRecord, RoomMinuteRecord, RoomPatch, RoomRecord } from '../../src/store/index.ts';

interface FakeLink extends MemberLink {
  sent: Array<Record<string, any>>;
  closedWith: number | null;
}

function link(): FakeLink {
  const l: FakeLink = {
    sent: [],
    closedWith: null,
    send: (text) => void l.sent.push(JSON.parse(text)),
    close: (code) => void (l.closedWith = code),
  };
  return l;
}

function setup(opts: { waitForBuffering?: boolean | null; sentiment?: (text: string) => number | null } = {}) {
  let now = 1_800_000_000_000;
  const saved: { room: RoomPatch[]; members: RoomMemberRecord[]; deleted: string[]; minutes: RoomMinuteRecord[] } = {
    room: [],
    members: [],
    deleted: [],
    minutes: [],
  };
  const room: RoomRecord = {
    id: 'room12345',
    appId: 'default',
    name: 'R',
    videoId: 'video12345',
    ownerUserId: 1,
    hostMemberId: null,
    hostUserId: null,
    locked: false,
    chatEnabled: true,
    waitForBuffering: opts.waitForBuffering ?? null,
    state: { position: 0, paused: true, rate: 1, at: now, seq: 0 },
    createdAt: now,
    updatedAt: now,
  };
  let chatId = 0;
  const session = new RoomSession(
    room,
    [],
    [],
    {
      saveRoom: (p) => void saved.room.push(p),
      claimHost: (p) => void saved.room.push(p),
      saveMember: (m) => void saved.members.push(m),
      deleteMember: (id) => void saved.deleted.push(id),
      addChat: async (c) => ({ ...c, id: ++chatId }) as ChatRecord,
      deleteChat: async () => true,
      saveMinute: (m) => void saved.minutes.push(m),
    },
    { now: () => now, heartbeatMs: 15_000, durationSec: 3600, sentiment: opts.sentiment },
  );
  /** Members that keep talking (a player sends its state every second or two); the others fall silent. */
  const alive = new Set<string>();
  const advance = (ms: number) => {
    // In steps, like the hub's ticks.
    for (let t = 0; t < ms; t += 250) {
      now += Math.min(250, ms - t);
      if (now % 5000 < 250) for (const id of alive) void session.handle(id, '{"type":"ping","clientTime":1}');
      session.tick();
    }
  };
  const keep = (id: string | null) => (alive.add(id!), id!);
  return { session, saved, advance, keep, now: () => now };
}

const user = (id: number, kind: 'admin' | 'member' = 'member') => ({
  identity: `u:${id}`,
  userId: id,
  name: `user${id}`,
  kind,
});
const guest = (n: string) => ({ identity: `g:${n}`, userId: null, name: n, kind: 'guest' as const });

describe('host hand-over', () => {
  test('the host keeps the role through a reconnect within 30 s; after it, the longest-present registered member gets it', async () => {
    const { session, advance, keep } = setup();
    const hostLink = link();
    const hostId = session.join(user(1), hostLink)!;
    const g = keep(session.join(guest('early guest'), link()));
    advance(1000);
    const second = keep(session.join(user(2), link()));
    advance(1000);
    const third = keep(session.join(user(3), link()));
    expect(session.roleOf(hostId)).toBe('host');
    session.leave(hostId, hostLink);
    advance(20_000);
    const back = link();
    expect(session.join(user(1), back)).toBe(hostId);
    expect(session.roleOf(hostId)).toBe('host');
    session.leave(hostId, back);
    advance(29_000);
    expect(session.roleOf(hostId)).toBe('host');
    advance(1500);
    // Not the guest, though present longer: the longest-present registered member.
    expect(session.roleOf(second)).toBe('host');
    expect(session.roleOf(g)).toBe('guest');
    expect(session.roleOf(third)).toBe('member');
    // The old host, back later, is a member (and as the owner takes the role only from an absent host).
    expect(session.join(user(1), link())).toBe(hostId);
    expect(session.roleOf(hostId)).toBe('member');
  });

  test('a member gone for 60 s is forgotten and the others are told; a return after that is a new member', () => {
    const { session, advance, saved, keep } = setup();
    keep(session.join(user(1), link()));
    const l = link();
    const watcher = link();
    keep(session.join(user(9), watcher));
    const id = session.join(guest('brief'), l)!;
    session.leave(id, l);
    advance(59_000);
    expect(session.presence().some((m) => m.id === id)).toBe(true);
    const before = watcher.sent.length;
    advance(1500);
    expect(session.presence().some((m) => m.id === id)).toBe(false);
    expect(saved.deleted).toContain(id);
    expect(watcher.sent.slice(before).some((m) => m.type === 'members')).toBe(true);
    expect(session.join(guest('brief'), link())).not.toBe(id);
  });

  test('a member that ignores two heartbeats is dropped (4408) but keeps the reconnect grace', () => {
    const { session, advance } = setup();
    session.join(user(1), link());
    const silent = link();
    const id = session.join(guest('silent'), silent)!;
    advance(30_000);
    expect(silent.closedWith).toBeNull();
    advance(1500);
    expect(silent.closedWith).toBe(4408);
    expect(silent.sent.at(-1)).toMatchObject({ type: 'bye', reason: 'no heartbeat' });
    expect(session.join(guest('silent'), link())).toBe(id);
  });
});

describe('buffering', () => {
  const state = (buffering: boolean, position = 10) =>
    JSON.stringify({ type: 'state', position, paused: false, buffering, bufferedAheadMs: 0, droppedFrames: 0 });

  test('waitForBuffering on (small room): one pause after a stall of 3 s, one play when everyone is ready', async () => {
    const { session, advance } = setup();
    const host = link();
    const hostId = session.join(user(1), host)!;
    const a = session.join(guest('a'), link())!;
    const b = session.join(guest('b'), link())!;
    await session.handle(hostId, JSON.stringify({ type: 'play', position: 10 }));
    advance(1000);
    const from = host.sent.length;
    await session.handle(a, state(true));
    advance(2000);
    await session.handle(b, state(true)); // a second member stalls too: still one pause
    expect(host.sent.slice(from).filter((m) => m.type === 'command')).toEqual([]);
    advance(1500);
    let commands = host.sent.slice(from).filter((m) => m.type === 'command');
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({ action: 'pause', by: 'server' });
    advance(2000);
    await session.handle(a, state(false));
    advance(500);
    expect(host.sent.slice(from).filter((m) => m.type === 'command')).toHaveLength(1);
    await session.handle(b, state(false));
    commands = host.sent.slice(from).filter((m) => m.type === 'command');
    expect(commands).toHaveLength(2);
    expect(commands[1]).toMatchObject({ action: 'play', by: 'server', position: commands[0]!.position });
  });

  test('short stalls (under 3 s) and rooms with waitForBuffering off never pause anyone', async () => {
    const { session, advance } = setup({ waitForBuffering: false });
    const host = link();
    const hostId = session.join(user(1), host)!;
    const a = session.join(guest('a'), link())!;
    await session.handle(hostId, JSON.stringify({ type: 'play', position: 10 }));
    const from = host.sent.length;
    await session.handle(a, state(true));
    advance(10_000);
    expect(host.sent.slice(from).filter((m) => m.type === 'command')).toEqual([]);
    const members = session.presence();
    expect(members.find((m) => m.id === a)!.buffering).toBe(true);
  });

  test('the room waits for one member twice in 5 minutes at most; after that the member catches up alone', async () => {
    const { session, advance, keep } = setup();
    const host = link();
    const hostId = keep(session.join(user(1), host));
    const flaky = keep(session.join(guest('flaky'), link()));
    await session.handle(hostId, JSON.stringify({ type: 'play', position: 10 }));
    advance(1000);
    const from = host.sent.length;
    const pausesFor = () =>
      host.sent.slice(from).filter((m) => m.type === 'command' && m.action === 'pause' && m.by === 'server').length;
    for (let i = 0; i < 5; i++) {
      // A stall of 3.5 s, then ready again: a member faking stalls in a loop.
      await session.handle(flaky, state(true));
      advance(3500);
      await session.handle(flaky, state(false));
      advance(1000);
    }
    expect(pausesFor()).toBe(ROOM_TIMING.maxWaitsPerMember);
    expect(session.stateView(0).paused).toBe(false);
    expect(session.presence().find((m) => m.id === flaky)!.buffering).toBe(false);
    // Once the window has passed, the room waits for them again.
    advance(ROOM_TIMING.waitWindowMs);
    await session.handle(flaky, state(true));
    advance(3500);
    expect(pausesFor()).toBe(ROOM_TIMING.maxWaitsPerMember + 1);
  });

  test('waitForBuffering defaults off above 5 members', () => {
    const { session } = setup();
    for (let i = 0; i < 6; i++) session.join(guest(`g${i}`), link());
    expect(session.roomView().waitForBuffering).toBe(false);
    expect(ROOM_TIMING.waitForBufferingMaxMembers).toBe(5);
  });
});

describe('timing', () => {
  test('command lead: 2 × the highest RTT, at least 500 ms, at most 2 s', async () => {
    const { session, advance, now } = setup();
    const host = link();
    const hostId = session.join(user(1), host)!;
    const slow = link();
    const slowId = session.join(guest('slow'), slow)!;
    const ping = slow.sent.find((m) => m.type === 'ping')!;
    advance(1250); // the slow member answers after 1.25 s
    await session.handle(slowId, JSON.stringify({ type: 'pong', serverTime: ping.serverTime }));
    await session.handle(hostId, JSON.stringify({ type: 'play', position: 0 }));
    const cmd = host.sent.filter((m) => m.type === 'command').at(-1)!;
    expect(cmd.at - now()).toBe(2000);
  });

  test('drift is measured against the timeline, half a round trip back', async () => {
    const { session, advance } = setup();
    const hostId = session.join(user(1), link())!;
    const l = link();
    const a = session.join(guest('a'), l)!;
    await session.handle(hostId, JSON.stringify({ type: 'play', position: 10 }));
    advance(3000); // 500 ms lead, then 2.5 s of playing: the room is at 12.5
    await session.handle(a, JSON.stringify({ type: 'state', position: 12.2, paused: false, buffering: false }));
    expect(session.presence().find((m) => m.id === a)!.driftMs).toBe(-300);
  });
});

describe('room analytics', () => {
  test('each minute: peak members connected, messages, unique chatters, top emotes, mean sentiment', async () => {
    // A stand-in scorer: the session averages whatever the configured scorer says.
    const { session, saved, advance, keep, now } = setup({ sentiment: (t) => (t.includes('great') ? 2 : -1) });
    advance(60_000 - (now() % 60_000)); // start at a whole minute
    const minute = now();
    const host = link();
    const hostId = keep(session.join(user(1), host));
    const a = keep(session.join(guest('a'), link()));
    const b = keep(session.join(guest('b'), link()));
    session.leave(b, link()); // a stale link: ignored, b is still connected
    const chat = (id: string, text: string) => session.handle(id, JSON.stringify({ type: 'chat', text }));
    await chat(hostId, 'great start 🎉 :pog:');
    await chat(a, '🎉🎉 :POG: great');
    await chat(a, 'hmm');
    advance(10_000);
    // The host sees the minute in progress.
    const stats = host.sent.filter((m) => m.type === 'stats').at(-1)!;
    expect(stats.current).toMatchObject({ t: minute, viewers: 3, messages: 3, uniqueChatters: 2 });
    expect(saved.minutes).toEqual([]);
    advance(50_000);
    expect(saved.minutes).toHaveLength(1);
    expect(saved.minutes[0]).toMatchObject({
      roomId: 'room12345',
      appId: 'default',
      minute,
      viewers: 3,
      messages: 3,
      uniqueChatters: 2,
      topEmotes: [
        { emote: '🎉', count: 3 },
        { emote: ':pog:', count: 2 },
      ],
      sentimentN: 3,
    });
    expect(saved.minutes[0]!.sentiment).toBeCloseTo(1);
    // A quiet minute with people present still counts them; guests get no stats.
    advance(60_000);
    expect(saved.minutes[1]).toMatchObject({ minute: minute + 60_000, viewers: 3, messages: 0, sentiment: null });
    expect(session.stats().previous).toMatchObject({ t: minute + 60_000, viewers: 3 });
  });

  test('without a scorer the sentiment is null; a minute cut short is flushed on shutdown', async () => {
    const { session, saved } = setup();
    const hostId = session.join(user(1), link())!;
    await session.handle(hostId, JSON.stringify({ type: 'chat', text: 'hello 👋🏽' }));
    session.shutdown();
    expect(saved.minutes).toHaveLength(1);
    expect(saved.minutes[0]).toMatchObject({ messages: 1, sentiment: null, topEmotes: [{ emote: '👋🏽', count: 1 }] });
  });
});
