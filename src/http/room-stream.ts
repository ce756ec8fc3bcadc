// A watch-party room as a stream of the streams API: `room:<id>` names it wherever a channel goes
// (`/api/v1/streams/room:<id>/metrics`, `/ws/live/room:<id>`, the live feed's `stream:<app>:room:<id>`). Its
// figures per minute are the chat half of the stream metrics — viewers (members connected), chat messages,
// unique chatters, top emotes and sentiment — read from the store's room minutes and, for the minute in
// progress, from the loaded room. Scoped to the room's app like everything else.
import type { RoomRecord, RoomMinuteRecord, StoredMoment } from '../store/index.ts';
import type { HttpContext } from './context.ts';
import { canSeeApp, type Principal } from './require-access.ts';

const ROOM_STREAM = /^room:([A-Za-z0-9_-]{8,64})$/;
const MINUTE = 60_000;

/** The room id a stream name names (`room:<id>`), or null for a streaming-server channel. */
export function roomOfStream(channel: string): string | null {
  return ROOM_STREAM.exec(channel)?.[1] ?? null;
}

/** Whether a channel name is meant as a room (so a bad id is a 404 for a room, not an empty channel). */
export const isRoomStream = (channel: string) => channel.startsWith('room:');

/**
 * The room behind a `room:<id>` stream when the caller sees its app (and it is the app asked for, when one is),
 * else null: the caller answers 404, whether the room is missing or another app's.
 */
export async function visibleRoomStream(
  ctx: HttpContext,
  principal: Principal,
  channel: string,
  requestedApp?: string,
): Promise<RoomRecord | null> {
  const id = roomOfStream(channel);
  const room = id ? await ctx.store.rooms.getRoom(id) : null;
  if (!room || !canSeeApp(principal, room.appId)) return null;
  if (requestedApp !== undefined && requestedApp !== '' && requestedApp !== room.appId) return null;
  return room;
}

/** One bucket of a room's figures, in the streams API's snake_case. */
export interface RoomPoint {
  t: number;
  viewers: number;
  /** Same as viewers: the field stream points carry, for clients that chart any stream. */
  peak_concurrent: number;
  chat_messages: number;
  /** Messages per minute over the bucket. */
  chat_rate: number;
  unique_chatters: number;
  top_emotes: Array<{ emote: string; count: number }>;
  sentiment: number | null;
}

/** Minutes of one bucket as one point: peaks for viewers and chatters (a lower bound over an hour), sums, means. */
function pointOf(t: number, stepMs: number, minutes: readonly RoomMinuteRecord[]): RoomPoint {
  const emotes = new Map<string, number>();
  let messages = 0;
  let viewers = 0;
  let chatters = 0;
  let sentimentSum = 0;
  let sentimentN = 0;
  for (const m of minutes) {
    messages += m.messages;
    viewers = Math.max(viewers, m.viewers);
    chatters = Math.max(chatters, m.uniqueChatters);
    for (const e of m.topEmotes) emotes.set(e.emote, (emotes.get(e.emote) ?? 0) + e.count);
    if (m.sentiment !== null) {
      sentimentSum += m.sentiment * m.sentimentN;
      sentimentN += m.sentimentN;
    }
  }
  return {
    t,
    viewers,
    peak_concurrent: viewers,
    chat_messages: messages,
    chat_rate: Math.round((messages / (stepMs / MINUTE)) * 1000) / 1000,
    unique_chatters: chatters,
    top_emotes: [...emotes]
      .map(([emote, count]) => ({ emote, count }))
      .sort((a, b) => b.count - a.count || a.emote.localeCompare(b.emote))
      .slice(0, 5),
    sentiment: sentimentN === 0 ? null : Math.round((sentimentSum / sentimentN) * 1000) / 1000,
  };
}

/** One point per complete bucket of [from, to); a bucket without rows had nobody in the room. */
export async function roomPoints(
  ctx: HttpContext,
  room: RoomRecord,
  from: number,
  to: number,
  stepMs: number,
  now = Date.now(),
): Promise<RoomPoint[]> {
  const rows = await ctx.store.rooms.roomMinutes(room.id, from, to);
  const complete = Math.min(to, Math.floor(now / stepMs) * stepMs);
  const points: RoomPoint[] = [];
  let i = 0;
  for (let t = from; t < complete; t += stepMs) {
    const bucket: RoomMinuteRecord[] = [];
    while (i < rows.length && rows[i]!.minute < t) i++;
    while (i < rows.length && rows[i]!.minute < t + stepMs) bucket.push(rows[i++]!);
    points.push(pointOf(t, stepMs, bucket));
  }
  return points;
}

/** A room's moments (chat spikes, sentiment drops) of the last hour, newest first. */
export function recentRoomMoments(ctx: HttpContext, room: RoomRecord, now = Date.now()): Promise<StoredMoment[]> {
  return ctx.store.listMoments({
    from: now - 60 * MINUTE,
    to: now + MINUTE,
    dimension: 'room',
    value: room.id,
    apps: [room.appId],
    limit: 20,
  });
}

/**
 * A room's live figures: members connected now, the minute in progress (when the room is loaded) and the last
 * complete minute, like a channel's `{viewers, minute}` with the chat figures added.
 */
export async function roomLiveFigures(ctx: HttpContext, room: RoomRecord, now = Date.now()) {
  const live = ctx.rooms.live(room.id);
  const last = Math.floor(now / MINUTE) * MINUTE - MINUTE;
  const stats = live?.stats(now);
  const stored = stats?.previous ? null : (await ctx.store.rooms.roomMinutes(room.id, last, last + MINUTE))[0];
  const previous = stats?.previous
    ? pointOf(stats.previous.t, MINUTE, [asRecord(stats.previous)])
    : stored
      ? pointOf(last, MINUTE, [stored])
      : null;
  const current = stats ? pointOf(stats.current.t, MINUTE, [asRecord(stats.current)]) : null;
  return {
    room: room.id,
    viewers: live?.connectedCount ?? 0,
    current,
    minute: previous,
  };
}

/** The live figures as a stored minute (sentiment weight 1: only the mean is needed for one minute). */
function asRecord(f: {
  t: number;
  viewers: number;
  messages: number;
  uniqueChatters: number;
  topEmotes: Array<{ emote: string; count: number }>;
  sentiment: number | null;
}): RoomMinuteRecord {
  return {
    roomId: '',
    appId: '',
    minute: f.t,
    viewers: f.viewers,
    messages: f.messages,
    uniqueChatters: f.uniqueChatters,
    topEmotes: f.topEmotes,
    sentiment: f.sentiment,
    sentimentN: f.sentiment === null ? 0 : 1,
  };
}
