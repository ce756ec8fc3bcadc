// The sessions page's query: one app's sessions newest first with optional filters, paged by keyset
// (timestamp, id) so that page 100 costs what page 1 does. The time range rides the (app_id, timestamp) index;
// a sessionId prefix rides the (app_id, session_id) unique index as a range.
import type Database from 'better-sqlite3';
import type { SessionListItem, SessionListPage, SessionListQuery } from '../types.ts';

const COLUMNS = `id, session_id AS sessionId, timestamp, received_at AS receivedAt, session_duration_ms AS sessionDurationMs,
  content_id AS contentId, content_title AS contentTitle, stream_type AS streamType, player_name AS playerName,
  app_version AS appVersion, device_model AS deviceModel, os, os_version AS osVersion, country, cdn,
  startup_time_ms AS startupTimeMs, rebuffer_time_ms AS rebufferTimeMs, rebuffer_ratio AS rebufferRatio,
  play_time_ms AS playTimeMs, total_dropped_frames AS totalDroppedFrames,
  mean_video_format_bitrate AS meanVideoFormatBitrate, error_count AS errorCount, error_code AS errorCode`;

/** LIKE with the user's text taken literally. */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function listSessionPage(
  db: Database.Database,
  cache: Map<string, Database.Statement>,
  q: SessionListQuery,
): SessionListPage {
  const where = ['app_id = ?'];
  const params: unknown[] = [q.appId];
  if (q.from !== undefined) where.push('timestamp >= ?'), params.push(q.from);
  if (q.to !== undefined) where.push('timestamp < ?'), params.push(q.to);
  if (q.contentId !== undefined) where.push('content_id = ?'), params.push(q.contentId);
  if (q.errorsOnly) where.push('error_count > 0');
  if (q.device !== undefined) where.push("device_model LIKE ? ESCAPE '\\'"), params.push(`%${likeLiteral(q.device)}%`);
  if (q.sessionIdPrefix !== undefined)
    // Every id with this prefix sorts between the prefix and the prefix followed by the highest code point.
    where.push('session_id >= ? AND session_id < ?'), params.push(q.sessionIdPrefix, `${q.sessionIdPrefix}\u{10FFFF}`);
  if (q.after)
    where.push('(timestamp < ? OR (timestamp = ? AND id < ?))'),
      params.push(q.after.timestamp, q.after.timestamp, q.after.id);
  const sql = `SELECT ${COLUMNS} FROM sessions WHERE ${where.join(' AND ')} ORDER BY timestamp DESC, id DESC LIMIT ?`;
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  const rows = stmt.all(...params, q.limit + 1) as SessionListItem[];
  const hasMore = rows.length > q.limit;
  return { sessions: hasMore ? rows.slice(0, q.limit) : rows, hasMore };
}
