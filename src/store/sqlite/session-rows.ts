// Maps validated sessions to the sessions table: the column list, the upsert statement, and flat rows
// (arrays of primitives, cheap to hand to the writer thread).
import type { IngestedSession } from '../../ingest/index.ts';
import { sessionKeyHash } from '../../tools/session-key.ts';

/** Columns in bind order. */
export const SESSION_COLUMNS = [
  'app_id',
  'session_id',
  'timestamp',
  'session_start_date_iso',
  'session_start_ms',
  'session_duration_ms',
  'startup_time_ms',
  'rebuffer_time_ms',
  'play_time_ms',
  'total_dropped_frames',
  'total_seek_time_ms',
  'rebuffer_count',
  'total_seek_count',
  'error_count',
  'rebuffer_ratio',
  'mean_video_format_bitrate',
  'content_id',
  'content_title',
  'stream_type',
  'player_name',
  'player_version',
  'app_version',
  'device_model',
  'os',
  'os_version',
  'country',
  'cdn',
  'error_code',
  'custom',
  'received_at',
  'payload',
  // Last, so the other offsets stay where they were: the hash sessions are looked up by (migration 0007).
  'key_hash',
] as const;

export type SessionColumn = (typeof SESSION_COLUMNS)[number];

export const SESSION_ROW_WIDTH = SESSION_COLUMNS.length;

/** Where each column's value sits in a flat session row (the writer's message and the rows read back). */
export const SESSION_OFFSET = Object.fromEntries(SESSION_COLUMNS.map((c, i) => [c, i])) as {
  readonly [C in SessionColumn]: number;
};

/** Columns a replacement rewrites, in UPDATE_SESSION_SQL's bind order (then the stored row's id). */
export const UPDATE_COLUMNS = SESSION_COLUMNS.filter((c) => c !== 'app_id' && c !== 'session_id' && c !== 'key_hash');

// Replaces the stored row with this id by a newer summary of the same session.
export const UPDATE_SESSION_SQL = `UPDATE sessions SET ${UPDATE_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`;

// A session not stored yet: the writer has looked it up by key_hash first (the index is not unique).
export const INSERT_NEW_SESSION_SQL = `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
  VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})`;

// The stored session minus its large text: the writer subtracts its rollup contribution when replacing it.
export const SELECT_STORED_SQL = `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')}, id
  FROM sessions WHERE key_hash = ? AND app_id = ? AND session_id = ?`;

/** Appends one session's values to `out` in SESSION_COLUMNS order. */
export function pushSessionRow(out: unknown[], appId: string, s: IngestedSession, receivedAt: number): void {
  const x = s.summary;
  out.push(
    appId,
    x.sessionId,
    x.timestamp,
    x.sessionStartDateIso,
    s.sessionStartMs,
    x.sessionDurationMs,
    x.startupTimeMs ?? null,
    x.rebufferTimeMs ?? null,
    x.playTimeMs ?? null,
    x.totalDroppedFrames ?? null,
    x.totalSeekTimeMs ?? null,
    x.rebufferCount ?? null,
    x.totalSeekCount ?? null,
    x.errorCount ?? null,
    x.rebufferRatio ?? null,
    x.meanVideoFormatBitrate ?? null,
    x.contentId ?? null,
    x.contentTitle ?? null,
    x.streamType ?? null,
    x.playerName ?? null,
    x.playerVersion ?? null,
    x.appVersion ?? null,
    x.deviceModel ?? null,
    x.os ?? null,
    x.osVersion ?? null,
    s.country,
    x.cdn ?? null,
    x.errorCode ?? null,
    x.custom ? JSON.stringify(x.custom) : null,
    receivedAt,
    s.payload,
    sessionKeyHash(appId, x.sessionId),
  );
}
