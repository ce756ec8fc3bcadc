// The Postgres side of watch-party rooms (rooms with their playback state, members and chat): the SQLite
// adapter's room-store.ts in Postgres spelling, sharing its row mapping.
import type pg from 'pg';
import type {
  ChatRecord,
  NewRoom,
  RoomMemberRecord,
  RoomMinuteRecord,
  RoomPatch,
  RoomRecord,
  RoomStore,
} from '../room-types.ts';
import {
  type ChatRow,
  type MemberRow,
  type MinuteRow,
  mergeMinutes,
  type RoomRow,
  toChat,
  toMember,
  toMinute,
  toRoom,
} from '../sqlite/room-store.ts';
import { q, transaction } from './database.ts';

const bool = (b: boolean) => (b ? 1 : 0);

export class PostgresRoomStore implements RoomStore {
  constructor(private readonly pool: pg.Pool) {}

  async createRoom(r: NewRoom): Promise<RoomRecord> {
    const res = await q<RoomRow>(
      this.pool,
      'createRoom',
      `INSERT INTO rooms (id, app_id, name, video_id, owner_user_id, host_user_id, locked, state_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $7, $7) RETURNING *`,
      [r.id, r.appId, r.name, r.videoId, r.ownerUserId, bool(r.locked), r.createdAt],
    );
    return toRoom(res.rows[0]!);
  }

  async getRoom(id: string): Promise<RoomRecord | null> {
    const res = await q<RoomRow>(this.pool, 'getRoom', 'SELECT * FROM rooms WHERE id = $1', [id]);
    return res.rows[0] ? toRoom(res.rows[0]) : null;
  }

  async listRooms(appId: string, limit: number): Promise<RoomRecord[]> {
    const res = await q<RoomRow>(
      this.pool,
      'listRooms',
      'SELECT * FROM rooms WHERE app_id = $1 ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $2',
      [appId, limit],
    );
    return res.rows.map(toRoom);
  }

  async updateRoom(id: string, patch: RoomPatch, now: number): Promise<RoomRecord | null> {
    return transaction(this.pool, 'updateRoom', async (c) => {
      const row = (await c.query<RoomRow>('SELECT * FROM rooms WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row) return null;
      const cur = toRoom(row);
      const next = { ...cur, ...patch, state: patch.state ?? cur.state };
      const s = next.state;
      const updated = await c.query<RoomRow>(
        `UPDATE rooms SET name = $1, video_id = $2, locked = $3, chat_enabled = $4, wait_for_buffering = $5,
           host_member_id = $6, host_user_id = $7, position = $8, paused = $9, rate = $10, state_at = $11, seq = $12,
           updated_at = $13 WHERE id = $14 RETURNING *`,
        [
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
        ],
      );
      return toRoom(updated.rows[0]!);
    });
  }

  async claimRoomHost(
    id: string,
    host: Pick<RoomRecord, 'hostMemberId' | 'hostUserId'>,
    previous: string | null,
    now: number,
  ): Promise<boolean> {
    // One statement: a concurrent claim waits for this row's lock, then finds the host changed and matches nothing.
    const r = await q(
      this.pool,
      'claimRoomHost',
      `UPDATE rooms SET host_member_id = $1, host_user_id = $2, updated_at = $3
       WHERE id = $4 AND host_member_id IS NOT DISTINCT FROM $5`,
      [host.hostMemberId, host.hostUserId, now, id, previous],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async deleteRoom(id: string): Promise<boolean> {
    return ((await q(this.pool, 'deleteRoom', 'DELETE FROM rooms WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async listRoomMembers(roomId: string): Promise<RoomMemberRecord[]> {
    const res = await q<MemberRow>(
      this.pool,
      'listRoomMembers',
      'SELECT * FROM room_members WHERE room_id = $1 ORDER BY joined_at, id COLLATE "C"',
      [roomId],
    );
    return res.rows.map(toMember);
  }

  async saveRoomMember(m: RoomMemberRecord): Promise<void> {
    await q(
      this.pool,
      'saveRoomMember',
      `INSERT INTO room_members (room_id, app_id, id, identity, user_id, name, kind, joined_at, last_seen_at, kicked)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (room_id, id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
         last_seen_at = excluded.last_seen_at, kicked = excluded.kicked`,
      [m.roomId, m.appId, m.id, m.identity, m.userId, m.name, m.kind, m.joinedAt, m.lastSeenAt, bool(m.kicked)],
    );
  }

  async deleteRoomMember(roomId: string, memberId: string): Promise<void> {
    await q(this.pool, 'deleteRoomMember', 'DELETE FROM room_members WHERE room_id = $1 AND id = $2', [
      roomId,
      memberId,
    ]);
  }

  async addChat(c: Omit<ChatRecord, 'id'> & { appId: string }): Promise<ChatRecord> {
    const res = await q<ChatRow>(
      this.pool,
      'addChat',
      `INSERT INTO room_chat (room_id, app_id, member_id, name, text, video_position, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [c.roomId, c.appId, c.memberId, c.name, c.text, c.videoPosition, c.at],
    );
    return toChat(res.rows[0]!);
  }

  async recentChat(roomId: string, limit: number): Promise<ChatRecord[]> {
    const res = await q<ChatRow>(
      this.pool,
      'recentChat',
      `SELECT * FROM (SELECT * FROM room_chat WHERE room_id = $1 AND deleted = 0 ORDER BY id DESC LIMIT $2) AS recent
       ORDER BY id`,
      [roomId, limit],
    );
    return res.rows.map(toChat);
  }

  async deleteChat(roomId: string, messageId: number): Promise<boolean> {
    const res = await q(
      this.pool,
      'deleteChat',
      'UPDATE room_chat SET deleted = 1 WHERE room_id = $1 AND id = $2 AND deleted = 0',
      [roomId, messageId],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async addRoomMinute(m: RoomMinuteRecord): Promise<void> {
    await transaction(this.pool, 'addRoomMinute', async (c) => {
      // The room row locked: a minute of a room deleted meanwhile gets no row, and two halves of one minute
      // (a restart split it) merge instead of racing.
      if ((await c.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [m.roomId])).rowCount === 0) return;
      const before = (
        await c.query<MinuteRow>('SELECT * FROM room_minutes WHERE room_id = $1 AND minute = $2', [m.roomId, m.minute])
      ).rows[0];
      const row = before ? mergeMinutes(toMinute(before), m) : m;
      await c.query(
        `INSERT INTO room_minutes (room_id, app_id, minute, viewers, messages, unique_chatters, top_emotes, sentiment,
           sentiment_n) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (room_id, minute) DO UPDATE SET viewers = excluded.viewers, messages = excluded.messages,
           unique_chatters = excluded.unique_chatters, top_emotes = excluded.top_emotes, sentiment = excluded.sentiment,
           sentiment_n = excluded.sentiment_n`,
        [
          row.roomId,
          row.appId,
          row.minute,
          row.viewers,
          row.messages,
          row.uniqueChatters,
          JSON.stringify(row.topEmotes),
          row.sentiment,
          row.sentimentN,
        ],
      );
    });
  }

  async roomMinutes(roomId: string, from: number, to: number): Promise<RoomMinuteRecord[]> {
    const res = await q<MinuteRow>(
      this.pool,
      'roomMinutes',
      'SELECT * FROM room_minutes WHERE room_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute',
      [roomId, from, to],
    );
    return res.rows.map(toMinute);
  }

  async roomsWithMinutes(from: number, to: number): Promise<Array<{ roomId: string; appId: string }>> {
    const res = await q<{ room_id: string; app_id: string }>(
      this.pool,
      'roomsWithMinutes',
      `SELECT room_id, app_id FROM room_minutes WHERE minute >= $1 AND minute < $2
       GROUP BY room_id, app_id ORDER BY room_id COLLATE "C"`,
      [from, to],
    );
    return res.rows.map((r) => ({ roomId: r.room_id, appId: r.app_id }));
  }
}
