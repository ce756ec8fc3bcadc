// Maps validated sessions to the sessions table: the column list, the upsert statement, and flat rows
// (arrays of primitives, cheap to hand to the writer thread).
import type { IngestedSession } from '../../ingest/index.ts';

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
] as const;

export type SessionColumn = (typeof SESSION_COLUMNS)[number];

export const SESSION_ROW_WIDTH = SESSION_COLUMNS.length;

/** Where each column's value sits in a flat session row (the writer's message and the rows read back). */
export const SESSION_OFFSET = Object.fromEntries(SESSION_COLUMNS.map((c, i) => [c, i])) as {
  readonly [C in SessionColumn]: number;
};

const updates = SESSION_COLUMNS.filter((c) => c !== 'app_id' && c !== 'session_id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

// Newer-or-equal wins: an SDK retry of the same summary is harmless, an older one is ignored.
export const UPSERT_SESSION_SQL = `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
  VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (app_id, session_id) DO UPDATE SET ${updates}
  WHERE excluded.timestamp >= sessions.timestamp`;

// A session not stored yet; does nothing (changes = 0) when (app_id, session_id) exists.
export const INSERT_NEW_SESSION_SQL = `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
  VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (app_id, session_id) DO NOTHING`;

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
  );
}
