// The watch-party WebSocket endpoint (/ws/rooms/{id}): loads a room's session from the store when its first
// member connects, hands each connection's frames to it, drives its timers (rules tick, heartbeats), writes
// what it changes back to the store, and unloads it once nobody is left. Who a connection is comes from an
// injected `identify` (cookies, tickets and guest tokens are the HTTP layer's business).
import type { Hooks, Peer } from 'crossws';
import type { InstanceBus, InstanceMessage, RoomRecord, Store } from '../store/index.ts';
import { PeerOutbox } from '../ws/index.ts';
import type { SentimentScorer } from './chat-stats.ts';
import { PROTOCOL_LIMITS } from './room-protocol.ts';
import {
  type JoiningMember,
  type MemberLink,
  type RoomPersistence,
  RoomSession,
  type SharedRoomEvent,
} from './room-session.ts';

export const ROOM_ID = /^[A-Za-z0-9_-]{8,64}$/;

export type Identified = JoiningMember | { refused: number; reason: string };

export interface RoomHubOptions {
  store: Store;
  /** Who is connecting to `room` (already loaded and existing), or why not (close code and reason). */
  identify(request: Request, room: RoomRecord): Promise<Identified>;
  /** The video's length in seconds, when known (positions past it are clamped). */
  videoDurationSec(videoId: string): Promise<number | null>;
  heartbeatMs?: number;
  tickMs?: number;
  maxMembersPerRoom?: number;
  /** Scores chat sentiment for the room analytics (none: sentiment is null). */
  sentiment?: SentimentScorer;
  onError?(err: unknown, where: string): void;
  /**
   * The other instances on a shared database (Postgres), or null: a room's sessions on several instances tell
   * each other their commands, chat, kicks, connected members and stored changes (topic "room").
   */
  bus?: InstanceBus | null;
}

/** A room message between instances: one room's session event, or the hub's own (hello, reload, deleted). */
type RoomRelayPayload = { room: string } & (SharedRoomEvent | { k: 'hello' } | { k: 'reload' } | { k: 'deleted' });

export interface RoomHubHealth {
  rooms: number;
  connections: number;
}

export interface RoomHub {
  readonly hooks: Partial<Hooks>;
  /** REST changed a room's settings (name, lock, video): the loaded session follows and tells its members. */
  roomUpdated(before: RoomRecord, after: RoomRecord): Promise<void>;
  /** REST deleted a room: its members are told and disconnected. */
  roomDeleted(id: string): void;
  /**
   * Access may have been taken away (a revoked grant, a disabled user, an ended login, a deleted app): every
   * open connection is checked again and closed when it may no longer be there. Also runs every heartbeat.
   */
  reauthorize(): Promise<void>;
  /** The live view of a room (state, members) when loaded. */
  live(id: string): RoomSession | undefined;
  health(): RoomHubHealth;
  close(): void;
}

const CONTEXT_KEY = 'm3wRoom';
const OUTBOX_KEY = 'm3wRoomOutbox';

interface Connection {
  roomId: string;
  memberId: string | null;
  link: MemberLink;
  refused?: { code: number; reason: string };
  who?: JoiningMember;
}

export function createRoomHub(opts: RoomHubOptions): RoomHub {
  const onError = opts.onError ?? (() => {});
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const sessions = new Map<string, RoomSession>();
  const loading = new Map<string, Promise<RoomSession | null>>();
  /** Connections that joined a room, for the access re-checks and invite expiry. */
  const joined = new Set<Connection>();
  let closed = false;
  const bus = opts.bus ?? null;
  const relay = (room: RoomRecord | { id: string; appId: string }, ev: RoomRelayPayload) =>
    bus?.publish('room', room.appId, ev);
  /** The members connected here, to the same room's sessions elsewhere (on join, leave, hello and heartbeat). */
  const tellHere = (s: RoomSession) => relay(s.record, { room: s.id, k: 'here', members: s.connectedHere() });

  function persistence(room: RoomRecord): RoomPersistence {
    const { rooms } = opts.store;
    const logged = (where: string) => (err: unknown) => onError(err, where);
    return {
      saveRoom: (patch) =>
        void rooms
          .updateRoom(room.id, patch, Date.now())
          .then(() => {
            // The timeline goes with each command; anything else (host, lock, chat, name) is re-read elsewhere.
            if (Object.keys(patch).some((k) => k !== 'state')) relay(room, { room: room.id, k: 'reload' });
          })
          .catch(logged('save room')),
      claimHost: (patch, previous) =>
        void rooms
          .claimRoomHost(room.id, patch, previous, Date.now())
          .then(async (claimed) => {
            if (claimed) return relay(room, { room: room.id, k: 'reload' });
            // Another instance's member took the role first: this instance's members learn who, as theirs did.
            const stored = await rooms.getRoom(room.id);
            if (stored) sessions.get(room.id)?.adoptRecord(stored);
          })
          .catch(logged('claim host')),
      saveMember: (m) => void rooms.saveRoomMember(m).catch(logged('save member')),
      deleteMember: (id) => void rooms.deleteRoomMember(room.id, id).catch(logged('delete member')),
      addChat: (c) => rooms.addChat({ ...c, appId: room.appId }),
      deleteChat: (id) => rooms.deleteChat(room.id, id),
      saveMinute: (m) => void rooms.addRoomMinute(m).catch(logged('save minute')),
    };
  }

  async function load(id: string): Promise<RoomSession | null> {
    const ready = sessions.get(id);
    if (ready) return ready;
    let pending = loading.get(id);
    if (!pending) {
      pending = (async () => {
        const room = await opts.store.rooms.getRoom(id);
        if (!room) return null;
        const [members, chat, duration] = await Promise.all([
          opts.store.rooms.listRoomMembers(id),
          opts.store.rooms.recentChat(id, PROTOCOL_LIMITS.chatHistory),
          room.videoId ? opts.videoDurationSec(room.videoId) : null,
        ]);
        const session = new RoomSession(room, members, chat, persistence(room), {
          heartbeatMs,
          durationSec: duration,
          maxMembers: opts.maxMembersPerRoom,
          sentiment: opts.sentiment,
          share: bus ? (ev) => relay(room, { room: id, ...ev }) : undefined,
        });
        sessions.set(id, session);
        // Sessions of this room on other instances answer with the members connected there.
        relay(room, { room: id, k: 'hello' });
        return session;
      })().finally(() => loading.delete(id));
      loading.set(id, pending);
    }
    return pending;
  }

  const connectionOf = (peer: Peer) => peer.context[CONTEXT_KEY] as Connection | undefined;

  function linkFor(peer: Peer): MemberLink {
    // Commands and chat go out at once; presence waits (latest wins) while the socket is backed up; a member who
    // reads nothing while the room talks is dropped before its buffer grows without bound.
    const outbox = new PeerOutbox(peer, { maxBufferedBytes: 256 * 1024, onError });
    (peer.context as Record<string, unknown>)[OUTBOX_KEY] = outbox;
    return {
      send: (text) => outbox.sendNow(text),
      sendLatest: (slot, text) => outbox.queue(slot, text),
      close(code, reason) {
        try {
          peer.close(code, reason.slice(0, 120));
        } catch (err) {
          onError(err, 'close');
        }
      },
    };
  }

  /** Closes a joined connection that may no longer be there, telling it why first. */
  function dismiss(c: Connection, code: number, reason: string): void {
    joined.delete(c);
    try {
      c.link.send(JSON.stringify({ type: 'bye', reason, serverTime: Date.now() }));
    } catch (err) {
      onError(err, 'bye');
    }
    c.link.close(code, reason);
  }

  let rechecking: Promise<void> | null = null;
  let recheckAgain = false;
  async function recheckAll(): Promise<void> {
    // Rooms deleted underneath a loaded session (their app was deleted): members told, session unloaded.
    for (const [id, s] of [...sessions]) {
      const room = await opts.store.rooms.getRoom(id).catch((err) => (onError(err, 'recheck room'), undefined));
      if (room === null && sessions.get(id) === s) {
        s.end('room deleted', 4404);
        sessions.delete(id);
      }
    }
    for (const c of [...joined]) {
      if (!c.who?.recheck || !joined.has(c)) continue;
      const verdict = await c.who.recheck().catch((err) => (onError(err, 'recheck member'), null));
      if (!verdict || !joined.has(c)) continue;
      if ('refused' in verdict) dismiss(c, verdict.refused, verdict.reason);
      else if (c.memberId) sessions.get(c.roomId)?.setKind(c.memberId, verdict.kind);
    }
  }
  function reauthorize(): Promise<void> {
    if (rechecking) {
      recheckAgain = true; // a change during a pass: one more pass after it
      return rechecking;
    }
    rechecking = (async () => {
      do {
        recheckAgain = false;
        await recheckAll();
      } while (recheckAgain && !closed);
    })().finally(() => {
      rechecking = null;
    });
    return rechecking;
  }

  const tick = setInterval(() => {
    const now = Date.now();
    for (const c of joined)
      if (c.who?.expiresAt !== undefined && now >= c.who.expiresAt) dismiss(c, 4401, 'your invite has expired');
    for (const [id, s] of sessions) {
      try {
        s.tick();
      } catch (err) {
        onError(err, 'tick');
      }
      if (s.isIdle() && s.connectedCount === 0) {
        s.flushMinute();
        sessions.delete(id);
      }
    }
  }, opts.tickMs ?? 250);
  tick.unref();
  const heartbeat = setInterval(() => {
    for (const s of sessions.values()) {
      s.heartbeat();
      if (bus && s.connectedCount > 0) tellHere(s);
    }
    if (joined.size > 0) void reauthorize();
  }, heartbeatMs);
  heartbeat.unref();

  function left(c: Connection | undefined): void {
    if (c) joined.delete(c);
    if (!c?.memberId) return;
    const s = sessions.get(c.roomId);
    s?.leave(c.memberId, c.link);
    if (s && bus) tellHere(s);
  }

  async function heard(m: InstanceMessage): Promise<void> {
    if (m.topic !== 'room') return;
    const ev = m.payload as RoomRelayPayload;
    if (typeof ev?.room !== 'string') return;
    const s = sessions.get(ev.room);
    if (ev.k === 'deleted') {
      s?.end('room deleted', 4404);
      sessions.delete(ev.room);
      return;
    }
    if (!s) return;
    if (ev.k === 'hello') {
      if (s.connectedCount > 0) tellHere(s);
      return;
    }
    if (ev.k === 'reload') {
      const stored = await opts.store.rooms.getRoom(ev.room);
      if (sessions.get(ev.room) !== s) return;
      if (!stored) {
        s.end('room deleted', 4404);
        sessions.delete(ev.room);
        return;
      }
      if (stored.videoId !== s.record.videoId)
        s.changeVideo(stored.videoId, stored.videoId ? await opts.videoDurationSec(stored.videoId) : null);
      s.adoptRecord(stored);
      return;
    }
    s.applyShared(m.instance, ev);
  }
  const stopHearing = bus?.subscribe((m) => void heard(m).catch((err) => onError(err, 'relay')));

  const hooks: Partial<Hooks> = {
    async upgrade(request) {
      const id = decodeURIComponent(new URL(request.url).pathname.split('/').pop() ?? '');
      const connection: Omit<Connection, 'link'> = { roomId: id, memberId: null };
      try {
        const session = ROOM_ID.test(id) ? await load(id) : null;
        if (!session) connection.refused = { code: 4404, reason: `no room ${id.slice(0, 64)}` };
        else {
          const who = await opts.identify(request, session.record);
          if ('refused' in who) connection.refused = { code: who.refused, reason: who.reason };
          else connection.who = who;
        }
      } catch (err) {
        onError(err, 'identify');
        connection.refused = { code: 1011, reason: 'could not open the room' };
      }
      // Accepted, then closed with a code: a browser cannot read a refused handshake's status, only a close.
      return { context: { [CONTEXT_KEY]: connection } };
    },
    async open(peer) {
      const c = connectionOf(peer);
      if (!c) return peer.close(1011, 'no connection state');
      c.link = linkFor(peer);
      if (closed) return c.link.close(1012, 'server restarting');
      if (c.refused || !c.who) return c.link.close(c.refused?.code ?? 4401, c.refused?.reason ?? 'not allowed');
      // The room may have been unloaded (or deleted) between upgrade and open.
      const session = await load(c.roomId).catch(() => null);
      if (!session || session.closed) return c.link.close(4404, `no room ${c.roomId}`);
      c.memberId = session.join(c.who, c.link);
      if (c.memberId) joined.add(c);
      if (c.memberId && bus) tellHere(session);
    },
    async message(peer, message) {
      const c = connectionOf(peer);
      if (!c?.memberId) return;
      const session = sessions.get(c.roomId);
      if (!session) return;
      await session.handle(c.memberId, message.text()).catch((err) => onError(err, 'message'));
    },
    drain(peer) {
      (peer.context[OUTBOX_KEY] as PeerOutbox | undefined)?.flush();
    },
    close(peer) {
      left(connectionOf(peer));
    },
    error(peer, err) {
      onError(err, 'socket');
      left(connectionOf(peer));
    },
  };

  return {
    hooks,
    async roomUpdated(before, after) {
      relay(after, { room: after.id, k: 'reload' });
      const s = sessions.get(after.id);
      if (!s) return;
      if (before.videoId !== after.videoId)
        s.changeVideo(after.videoId, after.videoId ? await opts.videoDurationSec(after.videoId) : null);
      if (before.name !== after.name || before.locked !== after.locked)
        s.updateRoom({ name: after.name, locked: after.locked });
    },
    roomDeleted(id) {
      const s = sessions.get(id);
      // The app is not known here once the row is gone; the message's app is the session's when loaded.
      relay({ id, appId: s?.record.appId ?? '' }, { room: id, k: 'deleted' });
      if (!s) return;
      s.end('room deleted', 4404);
      sessions.delete(id);
    },
    reauthorize,
    live: (id) => sessions.get(id),
    health() {
      let connections = 0;
      for (const s of sessions.values()) connections += s.connectedCount;
      return { rooms: sessions.size, connections };
    },
    close() {
      closed = true;
      stopHearing?.();
      clearInterval(tick);
      clearInterval(heartbeat);
      for (const s of sessions.values()) s.shutdown();
      sessions.clear();
      joined.clear();
    },
  };
}
