// The SQLite side of watch-party rooms: rooms with their playback state, members and chat.
import type Database from 'better-sqlite3';
import type {
  ChatRecord,
  EmoteCount,
  MemberKind,
  NewRoom,
  RoomMemberRecord,
  RoomMinuteRecord,
  RoomPatch,
  RoomRecord,
  RoomStore,
} from '../room-types.ts';
import { run } from './run-query.ts';

export interface RoomRow {
  id: string;
  app_id: string;
  name: string;
  video_id: string | null;
  owner_user_id: number;
  host_member_id: string | null;
  host_user_id: number | null;
  locked: number;
  chat_enabled: number;
  wait_for_buffering: number | null;
  position: number;
  paused: number;
  rate: number;
  state_at: number;
  seq: number;
  created_at: number;
  updated_at: number;
}

export const toRoom = (r: RoomRow): RoomRecord => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  videoId: r.video_id,
  ownerUserId: r.owner_user_id,
  hostMemberId: r.host_member_id,
  hostUserId: r.host_user_id,
  locked: r.locked === 1,
  chatEnabled: r.chat_enabled === 1,
  waitForBuffering: r.wait_for_buffering === null ? null : r.wait_for_buffering === 1,
  state: { position: r.position, paused: r.paused === 1, rate: r.rate, at: r.state_at, seq: r.seq },
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface MemberRow {
  room_id: string;
  app_id: string;
  id: string;
  identity: string;
  user_id: number | null;
  name: string;
  kind: MemberKind;
  joined_at: number;
  last_seen_at: number;
  kicked: number;
}

export const toMember = (r: MemberRow): RoomMemberRecord => ({
  roomId: r.room_id,
  appId: r.app_id,
  id: r.id,
  identity: r.identity,
  userId: r.user_id,
  name: r.name,
  kind: r.kind,
  joinedAt: r.joined_at,
  lastSeenAt: r.last_seen_at,
  kicked: r.kicked === 1,
});

export interface ChatRow {
  id: number;
  room_id: string;
  member_id: string;
  name: string;
  text: string;
  video_position: number;
  at: number;
}

export const toChat = (r: ChatRow): ChatRecord => ({
  id: r.id,
  roomId: r.room_id,
  memberId: r.member_id,
  name: r.name,
  text: r.text,
  videoPosition: r.video_position,
  at: r.at,
});

export interface MinuteRow {
  room_id: string;
  app_id: string;
  minute: number;
  viewers: number;
  messages: number;
  unique_chatters: number;
  top_emotes: string;
  sentiment: number | null;
  sentiment_n: number;
}

export const toMinute = (r: MinuteRow): RoomMinuteRecord => ({
  roomId: r.room_id,
  appId: r.app_id,
  minute: r.minute,
  viewers: r.viewers,
  messages: r.messages,
  uniqueChatters: r.unique_chatters,
  topEmotes: JSON.parse(r.top_emotes) as EmoteCount[],
  sentiment: r.sentiment,
  sentimentN: r.sentiment_n,
});

/** Two tallies of one minute as one (a restart split it). */
export function mergeMinutes(a: RoomMinuteRecord, b: RoomMinuteRecord): RoomMinuteRecord {
  const emotes = new Map<string, number>();
  for (const e of [...a.topEmotes, ...b.topEmotes]) emotes.set(e.emote, (emotes.get(e.emote) ?? 0) + e.count);
  const n = a.sentimentN + b.sentimentN;
  return {
    ...b,
    viewers: Math.max(a.viewers, b.viewers),
    messages: a.messages + b.messages,
    uniqueChatters: Math.max(a.uniqueChatters, b.uniqueChatters),
    topEmotes: [...emotes]
      .map(([emote, count]) => ({ emote, count }))
      .sort((x, y) => y.count - x.count || x.emote.localeCompare(y.emote))
      .slice(0, 5),
    sentiment: n === 0 ? null : ((a.sentiment ?? 0) * a.sentimentN + (b.sentiment ?? 0) * b.sentimentN) / n,
    sentimentN: n,
  };
}

const bool = (b: boolean) => (b ? 1 : 0);

export class SqliteRoomStore implements RoomStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insertRoom: db.prepare(
        `INSERT INTO rooms (id, app_id, name, video_id, owner_user_id, host_user_id, locked, state_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      getRoom: db.prepare('SELECT * FROM rooms WHERE id = ?'),
      listRooms: db.prepare('SELECT * FROM rooms WHERE app_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
      updateRoom: db.prepare(
        `UPDATE rooms SET name = ?, video_id = ?, locked = ?, chat_enabled = ?, wait_for_buffering = ?,
           host_member_id = ?, host_user_id = ?, position = ?, paused = ?, rate = ?, state_at = ?, seq = ?,
           updated_at = ? WHERE id = ? RETURNING *`,
      ),
      claimHost: db.prepare(
        'UPDATE rooms SET host_member_id = ?, host_user_id = ?, updated_at = ? WHERE id = ? AND host_member_id IS ?',
      ),
      deleteRoom: db.prepare('DELETE FROM rooms WHERE id = ?'),
      listMembers: db.prepare('SELECT * FROM room_members WHERE room_id = ? ORDER BY joined_at, id'),
      saveMember: db.prepare(
        `INSERT INTO room_members (room_id, app_id, id, identity, user_id, name, kind, joined_at, last_seen_at, kicked)
         VALUES (@roomId, @appId, @id, @identity, @userId, @name, @kind, @joinedAt, @lastSeenAt, @kicked)
         ON CONFLICT (room_id, id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
           last_seen_at = excluded.last_seen_at, kicked = excluded.kicked`,
      ),
      deleteMember: db.prepare('DELETE FROM room_members WHERE room_id = ? AND id = ?'),
      insertChat: db.prepare(
        `INSERT INTO room_chat (room_id, app_id, member_id, name, text, video_position, at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      recentChat: db.prepare(
        `SELECT * FROM (SELECT * FROM room_chat WHERE room_id = ? AND deleted = 0 ORDER BY id DESC LIMIT ?)
         ORDER BY id`,
      ),
      deleteChat: db.prepare('UPDATE room_chat SET deleted = 1 WHERE room_id = ? AND id = ? AND deleted = 0'),
      getMinute: db.prepare('SELECT * FROM room_minutes WHERE room_id = ? AND minute = ?'),
      putMinute: db.prepare(
        `INSERT OR REPLACE INTO room_minutes
           (room_id, app_id, minute, viewers, messages, unique_chatters, top_emotes, sentiment, sentiment_n)
         SELECT @roomId, @appId, @minute, @viewers, @messages, @uniqueChatters, @topEmotes, @sentiment, @sentimentN
         WHERE EXISTS (SELECT 1 FROM rooms WHERE id = @roomId)`,
      ),
      minutes: db.prepare(
        'SELECT * FROM room_minutes WHERE room_id = ? AND minute >= ? AND minute < ? ORDER BY minute',
      ),
      roomsWithMinutes: db.prepare(
        'SELECT DISTINCT room_id, app_id FROM room_minutes WHERE minute >= ? AND minute < ? ORDER BY room_id',
      ),
    };
  }

  async createRoom(r: NewRoom): Promise<RoomRecord> {
    const row = run('createRoom', () =>
      this.stmt.insertRoom.get(
        r.id,
        r.appId,
        r.name,
        r.videoId,
        r.ownerUserId,
        r.ownerUserId,
        bool(r.locked),
        r.createdAt,
        r.createdAt,
        r.createdAt,
      ),
    ) as RoomRow;
    return toRoom(row);
  }

  async getRoom(id: string): Promise<RoomRecord | null> {
    const row = run('getRoom', () => this.stmt.getRoom.get(id)) as RoomRow | undefined;
    return row ? toRoom(row) : null;
  }

  async listRooms(appId: string, limit: number): Promise<RoomRecord[]> {
    return (run('listRooms', () => this.stmt.listRooms.all(appId, limit)) as RoomRow[]).map(toRoom);
  }

  async updateRoom(id: string, patch: RoomPatch, now: number): Promise<RoomRecord | null> {
    return run('updateRoom', () =>
      this.db.transaction(() => {
        const row = this.stmt.getRoom.get(id) as RoomRow | undefined;
        if (!row) return null;
        const cur = toRoom(row);
        const next = { ...cur, ...patch, state: patch.state ?? cur.state };
        const s = next.state;
        const updated = this.stmt.updateRoom.get(
          next.name,
          next.videoId,
          bool(next.locked),
          bool(next.chatEnabled),
          next.waitForBuffering === null ? null : bool(next.waitForBuffering),
          next.hostMemberId,
          next.hostUserId,
          s.position,
          bool(s.paused),
          s.rate,
          s.at,
          s.seq,
          now,
          id,
        ) as RoomRow;
        return toRoom(updated);
      })(),
    );
  }

  async claimRoomHost(
    id: string,
    host: Pick<RoomRecord, 'hostMemberId' | 'hostUserId'>,
    previous: string | null,
    now: number,
  ): Promise<boolean> {
    return run(
      'claimRoomHost',
      () => this.stmt.claimHost.run(host.hostMemberId, host.hostUserId, now, id, previous).changes > 0,
    );
  }

  async deleteRoom(id: string): Promise<boolean> {
    return run('deleteRoom', () => this.stmt.deleteRoom.run(id).changes > 0);
  }

  async listRoomMembers(roomId: string): Promise<RoomMemberRecord[]> {
    return (run('listRoomMembers', () => this.stmt.listMembers.all(roomId)) as MemberRow[]).map(toMember);
  }

  async saveRoomMember(m: RoomMemberRecord): Promise<void> {
    run('saveRoomMember', () => this.stmt.saveMember.run({ ...m, kicked: bool(m.kicked) }));
  }

  async deleteRoomMember(roomId: string, memberId: string): Promise<void> {
    run('deleteRoomMember', () => this.stmt.deleteMember.run(roomId, memberId));
  }

  async addChat(c: Omit<ChatRecord, 'id'> & { appId: string }): Promise<ChatRecord> {
    const row = run('addChat', () =>
      this.stmt.insertChat.get(c.roomId, c.appId, c.memberId, c.name, c.text, c.videoPosition, c.at),
    ) as ChatRow;
    return toChat(row);
  }

  async recentChat(roomId: string, limit: number): Promise<ChatRecord[]> {
    return (run('recentChat', () => this.stmt.recentChat.all(roomId, limit)) as ChatRow[]).map(toChat);
  }

  async deleteChat(roomId: string, messageId: number): Promise<boolean> {
    return run('deleteChat', () => this.stmt.deleteChat.run(roomId, messageId).changes > 0);
  }

  async addRoomMinute(m: RoomMinuteRecord): Promise<void> {
    run('addRoomMinute', () =>
      this.db.transaction(() => {
        const before = this.stmt.getMinute.get(m.roomId, m.minute) as MinuteRow | undefined;
        const row = before ? mergeMinutes(toMinute(before), m) : m;
        // A room deleted meanwhile gets no row (WHERE EXISTS): its figures went with it.
        this.stmt.putMinute.run({ ...row, topEmotes: JSON.stringify(row.topEmotes) });
      })(),
    );
  }

  async roomMinutes(roomId: string, from: number, to: number): Promise<RoomMinuteRecord[]> {
    return (run('roomMinutes', () => this.stmt.minutes.all(roomId, from, to)) as MinuteRow[]).map(toMinute);
  }

  async roomsWithMinutes(from: number, to: number): Promise<Array<{ roomId: string; appId: string }>> {
    const rows = run('roomsWithMinutes', () => this.stmt.roomsWithMinutes.all(from, to)) as Array<{
      room_id: string;
      app_id: string;
    }>;
    return rows.map((r) => ({ roomId: r.room_id, appId: r.app_id }));
  }
}
