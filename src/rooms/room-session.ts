// One watch-party room in memory: its members and their connections, the playback timeline, chat and the
// rules (who may control, conflicts, host hand-over, buffering waits, reconnect grace, limits). Plain code
// with an injected clock and injected persistence, so every rule can be driven by tests without timers;
// the hub (room-hub.ts) feeds it connections, frames and ticks.
import type {
  ChatRecord,
  MemberKind,
  PlaybackState,
  RoomMemberRecord,
  RoomMinuteRecord,
  RoomPatch,
  RoomRecord,
} from '../store/index.ts';
import { MinuteTally, type SentimentScorer } from './chat-stats.ts';
import {
  CONTROL_TYPES,
  type ClientMessage,
  commandLeadMs,
  PROTOCOL_LIMITS,
  cleanDisplayName,
  parseClientMessage,
  positionAt,
  ProtocolError,
} from './room-protocol.ts';

export const ROOM_TIMING = {
  /** The host's reconnect within this keeps the role; after it the role moves on. */
  hostGraceMs: 30_000,
  /** A member who left keeps identity, role and name this long; a reconnect within it is silent. */
  reconnectGraceMs: 60_000,
  /** A stall longer than this is reported as buffering (and may pause the room). */
  bufferingReportMs: 3000,
  /** A non-host command this soon after the host's loses to it. */
  hostTieMs: 250,
  /**
   * The room waits for one member at most this many times per `waitWindowMs`; after that the member catches up
   * alone (a flaky connection, or someone faking stalls, must not pause everyone over and over).
   */
  maxWaitsPerMember: 2,
  waitWindowMs: 5 * 60_000,
  /** waitForBuffering defaults on for rooms of up to this many members. */
  waitForBufferingMaxMembers: 5,
  /** Presence figures (RTT, drift, buffering) go out at most this often; joins, leaves and roles at once. */
  presenceIntervalMs: 2000,
  /** Above this many members the periodic figures go to the host and admins only (the fan-out is quadratic). */
  presenceToAllMaxMembers: 50,
  /** The room's chat figures (`stats`) go to the host and admins at most this often, when they changed. */
  statsIntervalMs: 5000,
};

export type Role = 'host' | MemberKind;

/** A connection as the session sees it: where to send, how to end it. */
export interface MemberLink {
  send(text: string): void;
  /** A state that a newer one replaces (presence): may wait, overwritten, while the socket is backed up. */
  sendLatest?(slot: string, text: string): void;
  close(code: number, reason: string): void;
}

/** What the session writes; each call is fire-and-forget for the session (the hub logs failures). */
export interface RoomPersistence {
  saveRoom(patch: RoomPatch): void;
  /**
   * Stores a host taken by a joining member only if the stored host is still `previous`; when another instance's
   * member got there first, the hub re-reads the room and the session adopts that host.
   */
  claimHost(patch: Pick<RoomRecord, 'hostMemberId' | 'hostUserId'>, previous: string | null): void;
  saveMember(m: RoomMemberRecord): void;
  deleteMember(memberId: string): void;
  addChat(c: Omit<ChatRecord, 'id'>): Promise<ChatRecord>;
  deleteChat(messageId: number): Promise<boolean>;
  /** A minute's figures once it is over (or, cut short, when the room unloads or the server stops). */
  saveMinute(m: RoomMinuteRecord): void;
}

/**
 * What one instance's session of a room tells the sessions of the same room on other instances (several m3w
 * instances on one Postgres schema; see room-relay.ts), and applies when they tell it.
 */
export type SharedRoomEvent =
  | { k: 'command'; msg: Record<string, unknown>; state: PlaybackState }
  | { k: 'chat'; chat: ChatRecord }
  | { k: 'chat-deleted'; messageId: number; by: string }
  /** The removed member and its identity: every member of that identity is barred, on every instance. */
  | { k: 'kick'; memberId: string; identity?: string }
  /** The members connected to the sender's instance now (all of them: who is missing left it). */
  | { k: 'here'; members: RoomMemberRecord[] };

export interface JoiningMember {
  identity: string;
  userId: number | null;
  name: string;
  kind: MemberKind;
  /** When the credential stops working (a guest's invite): the connection is closed then (4401). */
  expiresAt?: number;
  /**
   * Whether the member may still be here (access revoked, login ended, user disabled): why not, or the kind they
   * are now (an admin demoted to member loses the admin's powers at once).
   */
  recheck?(): Promise<{ refused: number; reason: string } | { kind: MemberKind }>;
}

interface LiveMember {
  record: RoomMemberRecord;
  link: MemberLink | null;
  /** When the connection went away (null while connected). */
  awaySince: number | null;
  rttMs: number | null;
  driftMs: number | null;
  stalledSince: number | null;
  buffering: boolean;
  bufferedAheadMs: number;
  droppedFrames: number;
  lastHeard: number;
  pendingPings: number[];
  window: { start: number; control: number; all: number };
  chatTokens: number;
  chatRefilledAt: number;
  /** When the room paused because of this member (recent ones only). */
  waitedFor: number[];
  /** Connected to another instance (as it last said), until then; null when not. */
  remoteUntil: number | null;
}

export interface MemberPresence {
  id: string;
  name: string;
  role: Role;
  connected: boolean;
  rttMs: number | null;
  driftMs: number | null;
  buffering: boolean;
  bufferedAheadMs: number;
  droppedFrames: number;
  joinedAt: number;
}

export interface SessionOptions {
  now?: () => number;
  heartbeatMs?: number;
  /** The video's length in seconds when known: positions past it are clamped. */
  durationSec?: number | null;
  maxMembers?: number;
  /** Scores each chat message's sentiment for the room's analytics; none: sentiment stays null. */
  sentiment?: SentimentScorer;
  /** Tells the same room's sessions on other instances what happened here (none: one instance). */
  share?(event: SharedRoomEvent): void;
}

/** A minute of the room's figures as the host sees them (and the streams API serves them). */
export interface MinuteFigures {
  t: number;
  viewers: number;
  messages: number;
  uniqueChatters: number;
  topEmotes: Array<{ emote: string; count: number }>;
  sentiment: number | null;
}

const figuresOf = (r: RoomMinuteRecord): MinuteFigures => ({
  t: r.minute,
  viewers: r.viewers,
  messages: r.messages,
  uniqueChatters: r.uniqueChatters,
  topEmotes: r.topEmotes,
  sentiment: r.sentiment,
});

let memberSeq = 0;
const newMemberId = () =>
  `m${Date.now().toString(36)}${(++memberSeq).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export class RoomSession {
  readonly id: string;
  private room: RoomRecord;
  private readonly members = new Map<string, LiveMember>();
  /**
   * Each member's frames are applied one after another, in the order they came: a chat line waits for its row
   * (a round trip on Postgres), and the member's next frames (more lines, a ping) must not overtake it.
   */
  private readonly inbox = new Map<string, Promise<void>>();
  private chat: ChatRecord[];
  private readonly now: () => number;
  readonly heartbeatMs: number;
  private durationSec: number | null;
  private readonly maxMembers: number;
  /** The host's last command (server time), for the tie rule. */
  private lastHostCommandAt = Number.NEGATIVE_INFINITY;
  /** Who issued the timeline in force (ties between instances' commands of the same seq and time). */
  private lastIssuedBy = '';
  /** The room paused itself for buffering members and will resume when they are ready. */
  private autoPaused = false;
  private presenceDirty = false;
  private lastPresence = '';
  private lastPresenceAt = 0;
  private readonly scoreSentiment: SentimentScorer;
  private readonly share: (event: SharedRoomEvent) => void;
  /** Per other instance, the members it last said are connected there. */
  private readonly remoteHere = new Map<string, Set<string>>();
  /** The minute in progress, and the last one completed (for the host's view and the live feed). */
  private tally: MinuteTally;
  private lastMinute: RoomMinuteRecord | null = null;
  private lastStats = '';
  private lastStatsAt = 0;
  closed = false;

  constructor(
    room: RoomRecord,
    stored: RoomMemberRecord[],
    chat: ChatRecord[],
    private readonly persist: RoomPersistence,
    opts: SessionOptions = {},
  ) {
    this.id = room.id;
    this.room = room;
    this.chat = chat.slice(-PROTOCOL_LIMITS.chatHistory);
    this.now = opts.now ?? Date.now;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.durationSec = opts.durationSec ?? null;
    this.maxMembers = opts.maxMembers ?? 1000;
    this.scoreSentiment = opts.sentiment ?? (() => null);
    this.share = opts.share ?? (() => {});
    const t = this.now();
    this.tally = new MinuteTally(Math.floor(t / 60_000) * 60_000);
    // Restored members count as just gone: each gets the full reconnect grace from now (a restart is not
    // their fault), and a restored host keeps the role if they come back within the host grace.
    for (const record of stored) this.members.set(record.id, this.fresh(record, null, t));
  }

  private fresh(record: RoomMemberRecord, link: MemberLink | null, t: number): LiveMember {
    return {
      record,
      link,
      awaySince: link ? null : t,
      rttMs: null,
      driftMs: null,
      stalledSince: null,
      buffering: false,
      bufferedAheadMs: 0,
      droppedFrames: 0,
      lastHeard: t,
      pendingPings: [],
      window: { start: t, control: 0, all: 0 },
      chatTokens: PROTOCOL_LIMITS.chatBurst,
      chatRefilledAt: t,
      waitedFor: [],
      remoteUntil: null,
    };
  }

  get record(): RoomRecord {
    return this.room;
  }

  get connectedCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.link) n++;
    return n;
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Whether the identity was kicked from this room. */
  isBanned(identity: string): boolean {
    for (const m of this.members.values()) if (m.record.identity === identity && m.record.kicked) return true;
    return false;
  }

  roleOf(id: string): Role | null {
    const m = this.members.get(id);
    if (!m) return null;
    return this.room.hostMemberId === id ? 'host' : m.record.kind;
  }

  // ---- connections -------------------------------------------------------------------------------------------

  /**
   * A connection for `who`: the same identity within the reconnect grace gets its member back (id, role, name)
   * without telling the others; a second connection of a connected identity replaces the first. Returns the
   * member id, or null when refused (kicked, full).
   */
  join(who: JoiningMember, link: MemberLink): string | null {
    const t = this.now();
    who = { ...who, name: cleanDisplayName(who.name) };
    let existing: LiveMember | undefined;
    for (const m of this.members.values()) if (m.record.identity === who.identity) existing = m;
    if (existing?.record.kicked) {
      link.close(4403, 'you were removed from this room');
      return null;
    }
    let member: LiveMember;
    let silent = false;
    if (existing) {
      if (existing.link) {
        this.sendTo(existing, { type: 'bye', reason: 'replaced by a newer connection' });
        existing.link.close(4409, 'replaced by a newer connection');
      }
      member = existing;
      member.link = link;
      member.remoteUntil = null;
      member.awaySince = null;
      member.lastHeard = t;
      member.pendingPings = [];
      member.stalledSince = null;
      member.buffering = false;
      member.record = { ...member.record, kind: who.kind, lastSeenAt: t };
      silent = true;
    } else {
      if (this.members.size >= this.maxMembers) {
        link.close(4429, `this room is full (${this.maxMembers} members)`);
        return null;
      }
      const record: RoomMemberRecord = {
        roomId: this.id,
        appId: this.room.appId,
        id: newMemberId(),
        identity: who.identity,
        userId: who.userId,
        name: who.name,
        kind: who.kind,
        joinedAt: t,
        lastSeenAt: t,
        kicked: false,
      };
      member = this.fresh(record, link, t);
      this.members.set(record.id, member);
    }
    this.persist.saveMember(member.record);
    // A room without a host (new, or its host expired with nobody to take over) gets one: the first registered
    // member to arrive; the room's owner takes the role back from a host who is away.
    const host = this.room.hostMemberId ? this.members.get(this.room.hostMemberId) : undefined;
    const takesHost =
      (!host && who.kind !== 'guest') ||
      (host !== undefined && host !== member && host.awaySince !== null && who.userId === this.room.ownerUserId);
    if (takesHost) {
      const patch = { hostMemberId: member.record.id, hostUserId: who.userId };
      const previous = this.room.hostMemberId;
      this.room = { ...this.room, ...patch };
      this.persist.claimHost(patch, previous);
    }
    this.rollMinute(t);
    this.tally.seeViewers(this.connectedCount);
    this.sendWelcome(member);
    this.ping(member, t);
    if (takesHost) this.broadcast({ type: 'room', room: this.roomView() });
    if (!silent || takesHost) this.broadcastPresence();
    return member.record.id;
  }

  /** A member's account changed kind (admin ↔ member): their powers follow, and everyone sees the new role. */
  setKind(memberId: string, kind: MemberKind): void {
    const m = this.members.get(memberId);
    if (!m || m.record.kind === kind) return;
    m.record = { ...m.record, kind };
    this.persist.saveMember(m.record);
    this.broadcastPresence();
  }

  /** The connection closed (or was dropped): the member stays, away, for the reconnect grace. */
  leave(memberId: string, link: MemberLink): void {
    const m = this.members.get(memberId);
    if (!m || m.link !== link) return;
    const t = this.now();
    m.link = null;
    m.awaySince = t;
    m.record = { ...m.record, lastSeenAt: t };
    // Not announced: a reconnect within the grace is silent for the others (the next presence update shows it).
    if (!m.record.kicked) this.persist.saveMember(m.record);
  }

  private sendWelcome(m: LiveMember): void {
    const t = this.now();
    this.sendTo(m, {
      type: 'welcome',
      memberId: m.record.id,
      role: this.roleOf(m.record.id),
      room: this.roomView(),
      members: this.presence(),
      chat: this.chat.map(chatMessage),
      state: this.stateView(t),
      heartbeatMs: this.heartbeatMs,
      limits: {
        maxMessageBytes: PROTOCOL_LIMITS.maxMessageBytes,
        chatMaxChars: PROTOCOL_LIMITS.chatMaxChars,
        maxControlPerSecond: PROTOCOL_LIMITS.maxControlPerSecond,
      },
    });
    const role = this.roleOf(m.record.id);
    if (role === 'host' || role === 'admin') this.sendTo(m, { type: 'stats', ...this.stats(t) });
  }

  roomView() {
    return {
      id: this.room.id,
      name: this.room.name,
      videoId: this.room.videoId,
      locked: this.room.locked,
      chatEnabled: this.room.chatEnabled,
      waitForBuffering: this.waitForBuffering(),
      hostMemberId: this.room.hostMemberId,
    };
  }

  /** The timeline with the position predicted for now (what a late joiner starts from). */
  stateView(t: number) {
    const s = this.room.state;
    return { ...s, predictedPosition: this.clamp(positionAt(s, t)), serverTime: t };
  }

  private waitForBuffering(): boolean {
    return this.room.waitForBuffering ?? this.members.size <= ROOM_TIMING.waitForBufferingMaxMembers;
  }

  presence(): MemberPresence[] {
    return [...this.members.values()]
      .filter((m) => !m.record.kicked)
      .map((m) => ({
        id: m.record.id,
        name: m.record.name,
        role: this.roleOf(m.record.id)!,
        connected: m.link !== null || m.remoteUntil !== null,
        rttMs: m.rttMs === null ? null : Math.round(m.rttMs),
        driftMs: m.driftMs === null ? null : Math.round(m.driftMs),
        buffering: m.buffering,
        bufferedAheadMs: Math.round(m.bufferedAheadMs),
        droppedFrames: m.droppedFrames,
        joinedAt: m.record.joinedAt,
      }));
  }

  // ---- sending -----------------------------------------------------------------------------------------------

  private sendTo(m: LiveMember, msg: Record<string, unknown>): void {
    m.link?.send(JSON.stringify({ ...msg, serverTime: this.now() }));
  }

  private broadcast(msg: Record<string, unknown>): void {
    const text = JSON.stringify({ ...msg, serverTime: this.now() });
    for (const m of this.members.values()) m.link?.send(text);
  }

  /** Presence and other states: the latest one wins for a member whose socket is backed up. */
  private broadcastLatest(slot: string, msg: Record<string, unknown>, to?: (m: LiveMember) => boolean): void {
    const text = JSON.stringify({ ...msg, serverTime: this.now() });
    for (const m of this.members.values()) {
      if (!m.link || (to && !to(m))) continue;
      if (m.link.sendLatest) m.link.sendLatest(slot, text);
      else m.link.send(text);
    }
  }

  private error(m: LiveMember, code: string, message: string): void {
    this.sendTo(m, { type: 'error', code, message });
  }

  private broadcastPresence(): void {
    // Large rooms: the list goes to the host and admins with the periodic figures (a join announced to every
    // member at once would cost members² per arrival); everyone learns the host from `room`.
    if (this.members.size > ROOM_TIMING.presenceToAllMaxMembers) {
      this.presenceDirty = true;
      return;
    }
    this.presenceDirty = false;
    const members = this.presence();
    this.lastPresence = JSON.stringify(members);
    this.lastPresenceAt = this.now();
    this.broadcastLatest('members', { type: 'members', members, hostMemberId: this.room.hostMemberId });
  }

  /** Periodic figures: to everyone in small rooms, to the host and admins in large ones. */
  private sendPresenceFigures(t: number): void {
    const members = this.presence();
    const text = JSON.stringify(members);
    this.presenceDirty = false;
    if (text === this.lastPresence) return;
    this.lastPresence = text;
    this.lastPresenceAt = t;
    const msg = { type: 'members', members, hostMemberId: this.room.hostMemberId };
    const everyone = this.members.size <= ROOM_TIMING.presenceToAllMaxMembers;
    this.broadcastLatest('members', msg, (m) => {
      const role = this.roleOf(m.record.id);
      return everyone || role === 'host' || role === 'admin';
    });
  }

  private ping(m: LiveMember, t: number): void {
    m.pendingPings.push(t);
    if (m.pendingPings.length > 4) m.pendingPings.shift();
    m.link?.send(JSON.stringify({ type: 'ping', serverTime: t }));
  }

  // ---- messages ----------------------------------------------------------------------------------------------

  /** One frame from a member. Refusals answer that member with `error`; nothing else is affected. */
  async handle(memberId: string, raw: string): Promise<void> {
    const m = this.members.get(memberId);
    if (!m?.link || this.closed) return;
    const t = this.now();
    m.lastHeard = t;
    if (t - m.window.start >= 1000) m.window = { start: t, control: 0, all: 0 };
    if (++m.window.all > PROTOCOL_LIMITS.maxMessagesPerSecond) {
      this.sendTo(m, { type: 'bye', reason: 'flooding' });
      m.link.close(4429, `more than ${PROTOCOL_LIMITS.maxMessagesPerSecond} messages per second`);
      return;
    }
    let msg: ClientMessage;
    try {
      msg = parseClientMessage(raw);
      if (
        (CONTROL_TYPES as readonly string[]).includes(msg.type) &&
        ++m.window.control > PROTOCOL_LIMITS.maxControlPerSecond
      )
        throw new ProtocolError(
          'RATE_LIMIT_EXCEEDED',
          `at most ${PROTOCOL_LIMITS.maxControlPerSecond} control messages per second; this one was dropped`,
        );
      const run = (this.inbox.get(memberId) ?? Promise.resolve()).then(() => this.apply(m, msg, t));
      const tail = run.then(
        () => {},
        () => {},
      );
      this.inbox.set(memberId, tail);
      void tail.then(() => {
        if (this.inbox.get(memberId) === tail) this.inbox.delete(memberId);
      });
      await run;
    } catch (err) {
      if (err instanceof ProtocolError) return this.error(m, err.code, err.message);
      throw err;
    }
  }

  private requireModerator(m: LiveMember, what: string): void {
    const role = this.roleOf(m.record.id);
    if (role !== 'host' && role !== 'admin') throw new ProtocolError('FORBIDDEN', `only the host can ${what}`);
  }

  private async apply(m: LiveMember, msg: ClientMessage, t: number): Promise<void> {
    switch (msg.type) {
      case 'hello':
      case 'ping':
        return this.sendTo(m, { type: 'pong', clientTime: msg.clientTime });
      case 'pong': {
        // Only an answer to a ping we sent counts: a client cannot claim a round trip it did not make.
        const i = m.pendingPings.indexOf(msg.serverTime);
        if (i < 0) return;
        m.pendingPings.splice(0, i + 1);
        const sample = t - msg.serverTime;
        m.rttMs = m.rttMs === null ? sample : Math.min(sample, 0.5 * m.rttMs + 0.5 * sample);
        return;
      }
      case 'state':
        return this.memberState(m, msg, t);
      case 'play':
      case 'pause':
      case 'seek':
      case 'rate':
        return this.command(m, msg, t);
      case 'chat':
        return this.chatMessage(m, msg.text, t);
      case 'kick':
        return this.kick(m, msg.memberId);
      case 'host': {
        this.requireModerator(m, 'hand over the host role');
        const target = this.members.get(msg.memberId);
        if (!target || target.record.kicked || (!target.link && target.remoteUntil === null))
          throw new ProtocolError('NOT_FOUND', `no connected member ${msg.memberId}`);
        this.setHost(target.record.id);
        return;
      }
      case 'lock':
        this.requireModerator(m, 'lock the room');
        return this.updateRoom({ locked: msg.locked });
      case 'chat-enabled':
        this.requireModerator(m, 'turn chat on or off');
        return this.updateRoom({ chatEnabled: msg.enabled });
      case 'wait-for-buffering':
        this.requireModerator(m, 'change waitForBuffering');
        this.updateRoom({ waitForBuffering: msg.enabled });
        if (!msg.enabled && this.autoPaused) this.resumeAfterBuffering(t);
        return;
      case 'chat-delete': {
        const own = this.chat.find((c) => c.id === msg.messageId)?.memberId === m.record.id;
        if (!own) this.requireModerator(m, "delete other members' chat messages");
        if (!(await this.persist.deleteChat(msg.messageId)))
          throw new ProtocolError('NOT_FOUND', `no chat message ${msg.messageId} in this room`);
        this.chat = this.chat.filter((c) => c.id !== msg.messageId);
        this.share({ k: 'chat-deleted', messageId: msg.messageId, by: m.record.id });
        return this.broadcast({ type: 'chat-deleted', messageId: msg.messageId, by: m.record.id });
      }
    }
  }

  private memberState(m: LiveMember, msg: Extract<ClientMessage, { type: 'state' }>, t: number): void {
    m.bufferedAheadMs = msg.bufferedAheadMs;
    m.droppedFrames = msg.droppedFrames;
    if (msg.buffering) m.stalledSince ??= t;
    else {
      m.stalledSince = null;
      if (m.buffering) {
        m.buffering = false;
        this.presenceDirty = true;
        if (this.autoPaused && !this.anyBuffering()) this.resumeAfterBuffering(t);
      }
    }
    // The position was read about half a round trip ago.
    const s = this.room.state;
    const sampledAt = t - (m.rttMs ?? 0) / 2;
    const expected = positionAt(s, sampledAt);
    m.driftMs = msg.buffering ? null : (msg.position - this.clamp(expected)) * 1000;
    this.presenceDirty = true;
  }

  private clamp(position: number): number {
    return this.durationSec !== null ? Math.min(position, this.durationSec) : position;
  }

  private highestRtt(): number {
    let max = 0;
    for (const m of this.members.values()) if (m.link && m.rttMs !== null) max = Math.max(max, m.rttMs);
    return max;
  }

  private command(
    m: LiveMember,
    msg: Extract<ClientMessage, { type: 'play' | 'pause' | 'seek' | 'rate' }>,
    t: number,
  ): void {
    const role = this.roleOf(m.record.id);
    if (this.room.locked && role !== 'host' && role !== 'admin')
      throw new ProtocolError('FORBIDDEN', 'the room is locked: only the host controls playback');
    if (!this.room.videoId) throw new ProtocolError('CONFLICT', 'this room has no video');
    if (role === 'host') this.lastHostCommandAt = t;
    else if (t - this.lastHostCommandAt < ROOM_TIMING.hostTieMs)
      throw new ProtocolError('CONFLICT', "the host's command just before yours wins");
    this.autoPaused = false;
    this.issue(
      msg.type,
      msg.type === 'rate' ? undefined : this.clamp(msg.position),
      msg.type === 'rate' ? msg.rate : undefined,
      m.record.id,
      t,
    );
  }

  /**
   * Makes a command the room's new timeline and sends it. Play, seek and rate take effect at a future server
   * time so that every member applies them together; pause takes effect at once, at the position given.
   */
  private issue(
    action: 'play' | 'pause' | 'seek' | 'rate',
    position: number | undefined,
    rate: number | undefined,
    by: string,
    t: number,
  ): void {
    const cur = this.room.state;
    const at = action === 'pause' ? t : t + commandLeadMs(this.highestRtt());
    let next: PlaybackState;
    switch (action) {
      case 'play':
        next = { position: position!, paused: false, rate: cur.rate, at, seq: cur.seq + 1 };
        break;
      case 'pause':
        next = { position: position!, paused: true, rate: cur.rate, at, seq: cur.seq + 1 };
        break;
      case 'seek':
        next = { position: position!, paused: cur.paused, rate: cur.rate, at, seq: cur.seq + 1 };
        break;
      case 'rate':
        next = { position: this.clamp(positionAt(cur, at)), paused: cur.paused, rate: rate!, at, seq: cur.seq + 1 };
        break;
    }
    this.room = { ...this.room, state: next };
    this.persist.saveRoom({ state: next });
    this.lastIssuedBy = by;
    const msg = {
      type: 'command',
      action,
      position: next.position,
      paused: next.paused,
      rate: next.rate,
      at,
      by,
      seq: next.seq,
    };
    this.broadcast(msg);
    this.share({ k: 'command', msg, state: next });
  }

  private anyBuffering(): boolean {
    for (const m of this.members.values()) if (m.link && m.buffering) return true;
    return false;
  }

  private resumeAfterBuffering(t: number): void {
    this.autoPaused = false;
    if (this.room.state.paused) this.issue('play', this.room.state.position, undefined, 'server', t);
  }

  private async chatMessage(m: LiveMember, text: string, t: number): Promise<void> {
    if (!this.room.chatEnabled) throw new ProtocolError('CHAT_DISABLED', 'the host turned chat off');
    m.chatTokens = Math.min(
      PROTOCOL_LIMITS.chatBurst,
      m.chatTokens + ((t - m.chatRefilledAt) / 1000) * PROTOCOL_LIMITS.chatPerSecond,
    );
    m.chatRefilledAt = t;
    if (m.chatTokens < 1)
      throw new ProtocolError('RATE_LIMIT_EXCEEDED', 'chat: at most 4 messages at once, then one per second');
    m.chatTokens -= 1;
    const saved = await this.persist.addChat({
      roomId: this.id,
      memberId: m.record.id,
      name: m.record.name,
      text,
      videoPosition: Math.round(this.clamp(positionAt(this.room.state, t)) * 1000) / 1000,
      at: t,
    });
    this.chat.push(saved);
    if (this.chat.length > PROTOCOL_LIMITS.chatHistory) this.chat.shift();
    this.rollMinute(t);
    this.tally.addChat(m.record.id, text, this.scoreSentiment(text));
    this.broadcast(chatMessage(saved));
    this.share({ k: 'chat', chat: saved });
  }

  private kick(m: LiveMember, targetId: string): void {
    this.requireModerator(m, 'remove members');
    const target = this.members.get(targetId);
    if (!target || target.record.kicked) throw new ProtocolError('NOT_FOUND', `no member ${targetId}`);
    if (target === m) throw new ProtocolError('CONFLICT', 'you cannot remove yourself; leave instead');
    // A removal bars the identity for good: whoever holds the host role (a guest, after a hand-over) must not be
    // able to lock the room's owner or an admin out of it.
    if (
      target.record.kind === 'admin' ||
      (target.record.userId !== null && target.record.userId === this.room.ownerUserId)
    )
      throw new ProtocolError('FORBIDDEN', "the room's owner and admins cannot be removed");
    const identity = target.record.identity;
    for (const barred of this.bar(identity, this.now())) this.persist.saveMember(barred.record);
    this.share({ k: 'kick', memberId: targetId, identity });
    this.broadcastPresence();
  }

  /**
   * Removes every member of `identity` here — the same person can hold two member records when they joined on two
   * instances at once — and closes their connections; the host role moves on if one of them held it.
   */
  private bar(identity: string, t: number): LiveMember[] {
    const barred: LiveMember[] = [];
    for (const m of this.members.values()) {
      if (m.record.identity !== identity || m.record.kicked) continue;
      m.record = { ...m.record, kicked: true };
      m.remoteUntil = null;
      if (m.link) {
        this.sendTo(m, { type: 'bye', reason: 'removed by the host' });
        m.link.close(4403, 'removed by the host');
        m.link = null;
        m.awaySince = t;
      }
      barred.push(m);
    }
    if (barred.some((m) => m.record.id === this.room.hostMemberId)) this.handOver(t);
    return barred;
  }

  private setHost(memberId: string | null): void {
    const user = memberId ? (this.members.get(memberId)?.record.userId ?? null) : null;
    this.updateRoom({ hostMemberId: memberId, hostUserId: user });
    this.broadcastPresence();
  }

  /** Room settings changed here or through the REST API: stored, and every member told. */
  updateRoom(patch: RoomPatch): void {
    this.room = { ...this.room, ...patch, state: patch.state ?? this.room.state };
    this.persist.saveRoom(patch);
    this.broadcast({ type: 'room', room: this.roomView() });
  }

  /** The video changed through the REST API: everyone stops at the start of the new one. */
  changeVideo(videoId: string | null, durationSec: number | null, t = this.now()): void {
    this.durationSec = durationSec;
    const state: PlaybackState = { position: 0, paused: true, rate: 1, at: t, seq: this.room.state.seq + 1 };
    this.updateRoom({ videoId, state });
    this.broadcast({
      type: 'command',
      action: 'pause',
      position: 0,
      paused: true,
      rate: 1,
      at: t,
      by: 'server',
      seq: state.seq,
    });
  }

  /** The longest-present connected registered member becomes host; none: the role waits for one. */
  private handOver(t: number): void {
    void t;
    const candidates = [...this.members.values()]
      .filter(
        (c) =>
          (c.link || c.remoteUntil !== null) &&
          !c.record.kicked &&
          c.record.kind !== 'guest' &&
          c.record.id !== this.room.hostMemberId,
      )
      .sort((a, b) => a.record.joinedAt - b.record.joinedAt);
    const next = candidates[0];
    if (next) this.setHost(next.record.id);
    else if (this.room.hostMemberId && !this.members.get(this.room.hostMemberId)?.link) {
      // Nobody to take it: the host keeps the role until someone can (or their grace to return ends).
    }
  }

  // ---- time --------------------------------------------------------------------------------------------------

  /** Runs the timed rules; the hub calls it a few times a second. */
  tick(): void {
    if (this.closed) return;
    const t = this.now();
    for (const m of [...this.members.values()]) {
      if (m.remoteUntil !== null && t > m.remoteUntil) this.remoteGone(m, m.remoteUntil);
      if (m.link && t - m.lastHeard > 2 * this.heartbeatMs + 1000) {
        // Ignored two heartbeats: dropped (the member keeps the reconnect grace like any leaver).
        const link = m.link;
        this.sendTo(m, { type: 'bye', reason: 'no heartbeat' });
        link.close(4408, 'no answer to two heartbeats');
        this.leave(m.record.id, link);
      }
      if (!m.link && m.awaySince !== null && t - m.awaySince > ROOM_TIMING.reconnectGraceMs && !m.record.kicked) {
        this.members.delete(m.record.id);
        this.persist.deleteMember(m.record.id);
        if (this.room.hostMemberId === m.record.id) {
          this.handOver(t);
          if (this.room.hostMemberId === m.record.id) this.setHost(null);
        }
        this.broadcastPresence();
      }
      if (m.link && m.stalledSince !== null && !m.buffering && t - m.stalledSince > ROOM_TIMING.bufferingReportMs) {
        m.buffering = true;
        this.presenceDirty = true;
        m.waitedFor = m.waitedFor.filter((w) => t - w < ROOM_TIMING.waitWindowMs);
        if (this.waitForBuffering() && !this.room.state.paused && m.waitedFor.length < ROOM_TIMING.maxWaitsPerMember) {
          m.waitedFor.push(t);
          this.autoPaused = true;
          this.issue('pause', this.clamp(positionAt(this.room.state, t)), undefined, 'server', t);
        }
      }
    }
    const host = this.room.hostMemberId ? this.members.get(this.room.hostMemberId) : undefined;
    if (host && !host.link && host.awaySince !== null && t - host.awaySince > ROOM_TIMING.hostGraceMs) this.handOver(t);
    if (this.autoPaused && !this.anyBuffering()) this.resumeAfterBuffering(t);
    if (this.members.size === 0 && !this.room.state.paused) {
      // Nobody left to watch: the room stops where it was, so the next visitor does not land at the end.
      const state = { ...this.room.state, position: this.clamp(positionAt(this.room.state, t)), paused: true, at: t };
      this.room = { ...this.room, state };
      this.persist.saveRoom({ state });
    }
    if (this.presenceDirty && t - this.lastPresenceAt >= ROOM_TIMING.presenceIntervalMs) this.sendPresenceFigures(t);
    this.rollMinute(t);
    this.tally.seeViewers(this.connectedCount);
    if (t - this.lastStatsAt >= ROOM_TIMING.statsIntervalMs) this.sendStats(t);
  }

  // ---- other instances ---------------------------------------------------------------------------------------

  /** The members connected here (what `here` tells the other instances), at most `max` of them. */
  connectedHere(max = 200): RoomMemberRecord[] {
    const out: RoomMemberRecord[] = [];
    for (const m of this.members.values()) if (m.link && !m.record.kicked && out.length < max) out.push(m.record);
    return out;
  }

  /** A member another instance no longer has connected: away from then, like any leaver. */
  private remoteGone(m: LiveMember, t: number): void {
    m.remoteUntil = null;
    if (!m.link) m.awaySince = t;
    this.presenceDirty = true;
  }

  /**
   * What the same room's session on another instance (`from`) told: its members' commands and chat reach the
   * members here as they reach its own, and its connected members count as present here. A command is taken when
   * its timeline is newer (seq, then time, then who), so concurrent commands on two instances end in the same one.
   */
  applyShared(from: string, ev: SharedRoomEvent): void {
    if (this.closed) return;
    const t = this.now();
    switch (ev.k) {
      case 'command': {
        const cur = this.room.state;
        const by = String(ev.msg.by ?? '');
        const newer =
          ev.state.seq > cur.seq ||
          (ev.state.seq === cur.seq && (ev.state.at > cur.at || (ev.state.at === cur.at && by > this.lastIssuedBy)));
        if (!newer) return;
        this.room = { ...this.room, state: ev.state };
        this.lastIssuedBy = by;
        if (by === this.room.hostMemberId) this.lastHostCommandAt = t;
        this.autoPaused = false;
        this.broadcast(ev.msg);
        return;
      }
      case 'chat':
        if (this.chat.some((c) => c.id === ev.chat.id)) return;
        this.chat.push(ev.chat);
        if (this.chat.length > PROTOCOL_LIMITS.chatHistory) this.chat.shift();
        this.broadcast(chatMessage(ev.chat));
        return;
      case 'chat-deleted':
        this.chat = this.chat.filter((c) => c.id !== ev.messageId);
        this.broadcast({ type: 'chat-deleted', messageId: ev.messageId, by: ev.by });
        return;
      case 'kick': {
        const identity = ev.identity ?? this.members.get(ev.memberId)?.record.identity;
        if (identity === undefined) return;
        const barred = this.bar(identity, t);
        // Not seen here yet (it joined the other instance a moment ago): remembered as removed, so a later join
        // of that identity on this instance is refused as on the other.
        if (!this.members.has(ev.memberId) && !this.isBanned(identity)) {
          const record: RoomMemberRecord = {
            roomId: this.id,
            appId: this.room.appId,
            id: ev.memberId,
            identity,
            userId: null,
            name: '',
            kind: 'guest',
            joinedAt: t,
            lastSeenAt: t,
            kicked: true,
          };
          this.members.set(record.id, this.fresh(record, null, t));
        }
        if (barred.length > 0) this.broadcastPresence();
        return;
      }
      case 'here': {
        const until = t + 2 * this.heartbeatMs + 5000;
        const now = new Set<string>();
        let changed = false;
        for (const record of ev.members) {
          if (record.roomId !== this.id) continue;
          now.add(record.id);
          let m = this.members.get(record.id);
          if (!m) {
            if (this.isBanned(record.identity)) continue;
            this.members.set(record.id, (m = this.fresh(record, null, t)));
            changed = true;
          }
          if (m.link || m.record.kicked) continue;
          if (m.remoteUntil === null) changed = true;
          m.record = { ...record, kicked: m.record.kicked };
          m.remoteUntil = until;
          m.awaySince = null;
        }
        for (const id of this.remoteHere.get(from) ?? []) {
          const m = this.members.get(id);
          if (!now.has(id) && m && m.remoteUntil !== null) {
            this.remoteGone(m, t);
            changed = true;
          }
        }
        this.remoteHere.set(from, now);
        if (changed) this.broadcastPresence();
        return;
      }
    }
  }

  /** The room's row changed on another instance (host, lock, chat, name): taken as it is stored, told to members. */
  adoptRecord(stored: RoomRecord): void {
    if (this.closed) return;
    const before = this.room;
    this.room = { ...stored, state: this.room.state };
    if (
      before.hostMemberId !== stored.hostMemberId ||
      before.locked !== stored.locked ||
      before.chatEnabled !== stored.chatEnabled ||
      before.name !== stored.name ||
      before.waitForBuffering !== stored.waitForBuffering
    ) {
      this.broadcast({ type: 'room', room: this.roomView() });
      if (before.hostMemberId !== stored.hostMemberId) this.broadcastPresence();
    }
  }

  // ---- analytics ---------------------------------------------------------------------------------------------

  /** A new minute: the one that ended is stored (when anything happened in it) and a new tally starts. */
  private rollMinute(t: number): void {
    const minute = Math.floor(t / 60_000) * 60_000;
    if (minute === this.tally.minute) return;
    if (!this.tally.empty) {
      this.lastMinute = this.tally.row(this.id, this.room.appId);
      this.persist.saveMinute(this.lastMinute);
    }
    this.tally = new MinuteTally(minute);
  }

  /** Stores the minute in progress as it stands (the room unloads, the server stops); a restart adds to it. */
  flushMinute(): void {
    if (this.tally.empty) return;
    this.persist.saveMinute(this.tally.row(this.id, this.room.appId));
    this.tally = new MinuteTally(this.tally.minute);
  }

  /** The minute in progress and the last complete one (null when nothing happened in it or it is not known). */
  stats(t = this.now()): { current: MinuteFigures; previous: MinuteFigures | null } {
    this.rollMinute(t);
    const previous = this.lastMinute && this.lastMinute.minute === this.tally.minute - 60_000 ? this.lastMinute : null;
    return {
      current: figuresOf(this.tally.row(this.id, this.room.appId)),
      previous: previous ? figuresOf(previous) : null,
    };
  }

  /** The room's figures to the host and admins, when they changed. */
  private sendStats(t: number): void {
    const stats = this.stats(t);
    // A new host is sent the figures at once, even if they did not change.
    const text = JSON.stringify({ ...stats, host: this.room.hostMemberId });
    this.lastStatsAt = t; // looked at once per interval, sent or not
    if (text === this.lastStats) return;
    this.lastStats = text;
    const msg = JSON.stringify({ type: 'stats', ...stats, serverTime: t });
    for (const m of this.members.values()) {
      const role = this.roleOf(m.record.id);
      if (m.link && (role === 'host' || role === 'admin')) m.link.send(msg);
    }
  }

  /** Heartbeat: a ping to every connected member (answers measure round trips). */
  heartbeat(): void {
    const t = this.now();
    for (const m of this.members.values()) if (m.link) this.ping(m, t);
  }

  /** Ends the session: every member is told why and disconnected. */
  end(reason: string, code: number): void {
    this.closed = true;
    const t = this.now();
    for (const m of this.members.values())
      if (m.link) {
        this.sendTo(m, { type: 'bye', reason });
        m.link.close(code, reason);
        m.link = null;
        m.awaySince = t;
      }
  }

  /** Server stopping: members are told, their last-seen time stored so a restart restores them. */
  shutdown(): void {
    const t = this.now();
    this.flushMinute();
    for (const m of this.members.values())
      if (m.link && !m.record.kicked) {
        m.record = { ...m.record, lastSeenAt: t };
        this.persist.saveMember(m.record);
      }
    this.end('server restarting', 1012);
  }

  isIdle(): boolean {
    return this.members.size === 0 || [...this.members.values()].every((m) => m.record.kicked);
  }
}

function chatMessage(c: ChatRecord) {
  return {
    type: 'chat',
    id: c.id,
    memberId: c.memberId,
    name: c.name,
    text: c.text,
    videoPosition: c.videoPosition,
    at: c.at,
  };
}
