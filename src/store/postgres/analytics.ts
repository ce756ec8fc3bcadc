// The analytics engine's SQL on Postgres: play sessions, stream and QoE rollups, moments, engine state and
// retention — the SQLite adapter's analytics-queries.ts in Postgres spelling.
import type pg from 'pg';
import type {
  MomentQuery,
  MomentWatchQuery,
  MomentWatchRows,
  PlaySessionFacts,
  QoeRollupRow,
  RetentionCounts,
  RetentionCutoffs,
  RollupStep,
  StoredMoment,
  StoredPlaySession,
  StreamRollupRow,
  OpenPlayGroup,
} from '../types.ts';
import { STARTUP_BUCKETS } from '../../tools/startup-histogram.ts';
import { qoeRowsFromSessions } from '../sqlite/qoe-rollup-writer.ts';
import { SESSION_COLUMNS } from '../sqlite/session-rows.ts';
import { type MomentRow, QOE_TABLE, STREAM_FIGURES, STREAM_TABLE, toMoment } from '../sqlite/analytics-queries.ts';
import { q, qRows, transaction } from './database.ts';
import { toMinute } from '../sqlite/room-store.ts';

const FACTS =
  'app_id, id, server, channel, country, protocol, device, user_id, address, opened_at, closed_at, start_bytes, close_bytes';
interface FactsRow {
  app_id: string;
  id: string;
  server: string;
  channel: string;
  country: string;
  protocol: string;
  device: string;
  user_id: string | null;
  address: string | null;
  opened_at: number;
  closed_at: number | null;
  start_bytes: number | null;
  close_bytes: number | null;
}
const toFacts = (r: FactsRow): PlaySessionFacts => ({
  appId: r.app_id,
  id: r.id,
  server: r.server,
  channel: r.channel,
  country: r.country,
  protocol: r.protocol,
  device: r.device as PlaySessionFacts['device'],
  userId: r.user_id,
  address: r.address,
  openedAt: r.opened_at,
  closedAt: r.closed_at,
  startBytes: r.start_bytes,
  closeBytes: r.close_bytes,
});

const streamSelect = (t: string) => `SELECT app_id, dimension, value, ${t} AS t, ${STREAM_FIGURES}`;
interface StreamRaw {
  app_id: string;
  dimension: string;
  value: string;
  t: number;
  sessions_started: number;
  sessions_closed: number;
  total_bytes: number;
  watch_time_seconds: number;
  unique_users: number;
  peak_concurrent: number;
}
const toStream = (r: StreamRaw): StreamRollupRow => ({
  appId: r.app_id,
  dimension: r.dimension,
  value: r.value,
  t: r.t,
  sessionsStarted: r.sessions_started,
  sessionsClosed: r.sessions_closed,
  totalBytes: r.total_bytes,
  watchTimeSeconds: r.watch_time_seconds,
  uniqueUsers: r.unique_users,
  peakConcurrent: r.peak_concurrent,
});
const QOE_FIGURES =
  'sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, rebuffer_count, play_sum, play_count, dropped_sum, dropped_count, seeks_sum, seeks_count, bitrate_sum, bitrate_count, startup_hist';

/** A QoE rollup row as Postgres answers it (the histogram as [bucket, count, …] pairs). */
const toQoe = (x: Record<string, unknown>): QoeRollupRow => {
  const hist = new Array<number>(STARTUP_BUCKETS).fill(0);
  const pairs = x.startup_hist as number[];
  for (let i = 0; i + 1 < pairs.length; i += 2)
    if (pairs[i]! >= 0 && pairs[i]! < STARTUP_BUCKETS) hist[pairs[i]!]! += pairs[i + 1]!;
  return {
    appId: x.app_id as string,
    dimension: x.dimension as string,
    value: x.value as string,
    t: x.t as number,
    sessions: x.sessions as number,
    sessionsWithErrors: x.sessions_with_errors as number,
    startupSum: x.startup_sum as number,
    startupCount: x.startup_count as number,
    rebufferSum: x.rebuffer_sum as number,
    rebufferCount: x.rebuffer_count as number,
    playSum: x.play_sum as number,
    playCount: x.play_count as number,
    droppedSum: x.dropped_sum as number,
    droppedCount: x.dropped_count as number,
    seeksSum: x.seeks_sum as number,
    seeksCount: x.seeks_count as number,
    bitrateSum: x.bitrate_sum as number,
    bitrateCount: x.bitrate_count as number,
    startupHist: hist,
  };
};

/**
 * The moment watch's reads (AnalyticsStore.momentWatchRows) as one statement, one round trip: the SQLite
 * adapter's three queries (analytics-queries.ts) as one UNION ALL of rows of one shape — kind (0 stream, 1 QoE,
 * 2 room minute), app_id, dimension, value (a room minute: its room id), t, rank, the figures as n1…n14, the QoE
 * histogram, a room minute's emotes — in the order of the three answers. (Rows, not one JSON value: building
 * JSON of thousands of rows cost more than the reads.)
 * $1 from, $2 to, $3 windowFrom, $4 qoeHistoryFrom, $5 maxValues, $6 minVolume, $7 trafficFrom.
 */
const nulls = (n: number, type = '') => Array.from({ length: n }, () => `NULL${type}`).join(', ');
const WATCH_ROWS = `
  WITH seen AS (
    SELECT DISTINCT app_id FROM stream_minutes WHERE dimension = 'global' AND minute >= $3 AND minute < $2
  ), ch AS (
    SELECT m.app_id, m.value,
      row_number() OVER (PARTITION BY m.app_id ORDER BY sum(m.watch_time_seconds) DESC, m.value COLLATE "C") AS rank
    FROM seen JOIN stream_minutes m ON m.app_id = seen.app_id AND m.dimension = 'channel'
    WHERE m.minute >= $1 AND m.minute < $2 GROUP BY m.app_id, m.value
  ), ct AS (
    SELECT q.app_id, q.value,
      row_number() OVER (PARTITION BY q.app_id ORDER BY min(q.minute), q.value COLLATE "C") AS rank
    FROM apps a JOIN qoe_minutes q ON q.app_id = a.id AND q.dimension = 'contentId'
    WHERE q.minute >= $1 AND q.minute < $2 AND q.sessions >= $6::float8 GROUP BY q.app_id, q.value
  ), small AS (
    SELECT q.app_id FROM apps a JOIN qoe_minutes q ON q.app_id = a.id AND q.dimension = 'global'
    WHERE q.minute >= $7 AND q.minute < $2 GROUP BY q.app_id
    HAVING sum(q.sessions)::float8 / greatest(1, ($2::float8 - min(q.minute)) / 60000) < $6::float8
  ), since AS (
    SELECT a.id AS app_id, CASE WHEN a.id IN (SELECT app_id FROM small) THEN $4 ELSE least($3, $7) END AS since
    FROM apps a
  ), r AS (
    SELECT room_id FROM room_minutes WHERE minute >= $3 AND minute < $2
    GROUP BY room_id ORDER BY room_id COLLATE "C" LIMIT $5
  )
  SELECT 0 AS kind, app_id COLLATE "C" AS k, app_id, dimension, value, minute AS t, 0::bigint AS rank,
      ${STREAM_FIGURES.replace(/(\w+)/g, '$1::float8')}, ${nulls(8, '::float8')}, NULL::integer[], NULL::text
    FROM stream_minutes WHERE dimension = 'global' AND minute >= $3 AND minute < $2
  UNION ALL
  SELECT 0, s.app_id, s.app_id, s.dimension, s.value, s.minute, ch.rank,
      ${STREAM_FIGURES.replace(/(\w+)/g, 's.$1')}, ${nulls(8)}, NULL, NULL
    FROM ch JOIN stream_minutes s ON s.app_id = ch.app_id AND s.dimension = 'channel' AND s.value = ch.value
    WHERE ch.rank <= $5 AND s.minute >= $3 AND s.minute < $2
  UNION ALL
  SELECT 1, q.app_id, q.app_id, q.dimension, q.value, q.minute, 0, ${QOE_FIGURES.replace(/(\w+)/g, 'q.$1')}, NULL
    FROM since a JOIN qoe_minutes q ON q.app_id = a.app_id AND q.dimension = 'global'
    WHERE q.minute >= a.since AND q.minute < $2
  UNION ALL
  SELECT 1, q.app_id, q.app_id, q.dimension, q.value, q.minute, ct.rank, ${QOE_FIGURES.replace(/(\w+)/g, 'q.$1')}, NULL
    FROM ct JOIN qoe_minutes q ON q.app_id = ct.app_id AND q.dimension = 'contentId' AND q.value = ct.value
    WHERE ct.rank <= $5 AND q.minute >= $3 AND q.minute < $2
  UNION ALL
  SELECT 2, m.room_id, m.app_id, 'room', m.room_id, m.minute, 0,
      m.viewers, m.messages, m.unique_chatters, m.sentiment, m.sentiment_n, ${nulls(9)}, NULL, m.top_emotes
    FROM r JOIN room_minutes m ON m.room_id = r.room_id WHERE m.minute >= $3 AND m.minute < $2
  ORDER BY kind, k, rank, t`;

export class PostgresAnalytics {
  constructor(private readonly pool: pg.Pool) {}

  async getPlaySession(appId: string, id: string): Promise<StoredPlaySession | null> {
    const res = await q(this.pool, 'getPlaySession', 'SELECT * FROM play_sessions WHERE app_id = $1 AND id = $2', [
      appId,
      id,
    ]);
    const r = res.rows[0];
    if (!r) return null;
    return {
      ...toFacts(r as unknown as FactsRow),
      userName: r.user_name as string | null,
      userAgent: r.user_agent as string | null,
      reason: r.reason as string | null,
      receivedAt: r.received_at as number,
      startEvent: r.start_event as string | null,
      closeEvent: r.close_event as string | null,
    };
  }

  async listOpenPlaySessions(): Promise<PlaySessionFacts[]> {
    const r = await q<FactsRow>(
      this.pool,
      'listOpenPlaySessions',
      `SELECT ${FACTS} FROM play_sessions WHERE closed_at IS NULL`,
    );
    return r.rows.map(toFacts);
  }

  /** Every instance's open plays per app and dimension values: one GROUP BY over the open-plays index. */
  async countOpenPlayGroups(): Promise<OpenPlayGroup[]> {
    const r = await q<OpenPlayGroup>(
      this.pool,
      'countOpenPlayGroups',
      `SELECT app_id AS "appId", server, channel, country, protocol, device, count(*) AS count FROM play_sessions
       WHERE closed_at IS NULL GROUP BY app_id, server, channel, country, protocol, device`,
    );
    return r.rows;
  }

  async openPlaySessionsBefore(to: number): Promise<PlaySessionFacts[]> {
    const r = await q<FactsRow>(
      this.pool,
      'openPlaySessionsBefore',
      `SELECT ${FACTS} FROM play_sessions WHERE closed_at IS NULL AND opened_at < $1`,
      [to],
    );
    return r.rows.map(toFacts);
  }

  async closedPlaySessionsOverlapping(from: number, to: number): Promise<PlaySessionFacts[]> {
    const r = await q<FactsRow>(
      this.pool,
      'closedPlaySessionsOverlapping',
      `SELECT ${FACTS} FROM play_sessions WHERE closed_at >= $1 AND opened_at < $2`,
      [from, to],
    );
    return r.rows.map(toFacts);
  }

  async closeStalePlaySessions(
    sessions: ReadonlyArray<{ appId: string; id: string }>,
    closedAt: number,
  ): Promise<Array<{ appId: string; id: string }>> {
    if (sessions.length === 0) return [];
    const r = await q<{ app_id: string; id: string }>(
      this.pool,
      'closeStalePlaySessions',
      `UPDATE play_sessions SET closed_at = GREATEST($1::int8, opened_at), reason = 'stale'
       WHERE (app_id, id) IN (SELECT * FROM unnest($2::text[], $3::text[])) AND closed_at IS NULL RETURNING app_id, id`,
      [closedAt, sessions.map((s) => s.appId), sessions.map((s) => s.id)],
    );
    const closed = new Set(r.rows.map((x) => `${x.app_id}\u0000${x.id}`));
    // In the order asked, as on SQLite.
    return sessions.filter((s) => closed.has(`${s.appId}\u0000${s.id}`)).map((s) => ({ appId: s.appId, id: s.id }));
  }

  /**
   * Marks the dirty minutes before `upTo` taken rather than deleting them: they go in settleDirtyStreamMinutes(),
   * once the rows are written, so a minute job that dies in between leaves them to the next run (on any instance).
   * Minutes a dead run had taken are taken again here.
   */
  async takeDirtyStreamMinute(upTo: number): Promise<number | null> {
    const r = await q<{ minute: number | null }>(
      this.pool,
      'takeDirtyStreamMinute',
      'WITH t AS (UPDATE stream_dirty SET taken = true WHERE minute < $1 RETURNING minute) SELECT min(minute) AS minute FROM t',
      [upTo],
    );
    return r.rows[0]?.minute ?? null;
  }

  /** Forgets the taken minutes; one an event marked again since (taken reset by the ingest) stays. */
  async settleDirtyStreamMinutes(): Promise<void> {
    await q(this.pool, 'settleDirtyStreamMinutes', 'DELETE FROM stream_dirty WHERE taken');
  }

  async replaceStreamRollups(
    step: RollupStep,
    from: number,
    to: number,
    rows: readonly StreamRollupRow[],
  ): Promise<void> {
    const [table, t] = STREAM_TABLE[step];
    await transaction(this.pool, 'replaceStreamRollups', async (c) => {
      await c.query(`DELETE FROM ${table} WHERE ${t} >= $1 AND ${t} < $2`, [from, to]);
      if (rows.length === 0) return;
      await c.query(
        `INSERT INTO ${table} (app_id, dimension, value, ${t}, ${STREAM_FIGURES})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::float8[], $9::int8[], $10::int8[])
         ON CONFLICT (app_id, dimension, value, ${t}) DO UPDATE SET sessions_started = excluded.sessions_started,
           sessions_closed = excluded.sessions_closed, total_bytes = excluded.total_bytes,
           watch_time_seconds = excluded.watch_time_seconds, unique_users = excluded.unique_users,
           peak_concurrent = excluded.peak_concurrent`,
        [
          rows.map((r) => r.appId),
          rows.map((r) => r.dimension),
          rows.map((r) => r.value),
          rows.map((r) => r.t),
          rows.map((r) => r.sessionsStarted),
          rows.map((r) => r.sessionsClosed),
          rows.map((r) => r.totalBytes),
          rows.map((r) => r.watchTimeSeconds),
          rows.map((r) => r.uniqueUsers),
          rows.map((r) => r.peakConcurrent),
        ],
      );
    });
  }

  async streamSeries(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
  ): Promise<StreamRollupRow[]> {
    const [table, t] = STREAM_TABLE[step];
    const r = await q<StreamRaw>(
      this.pool,
      'streamSeries',
      `${streamSelect(t)} FROM ${table} WHERE app_id = $1 AND dimension = $2 AND value = $3 AND ${t} >= $4 AND ${t} < $5 ORDER BY ${t}`,
      [appId, dimension, value, from, to],
    );
    return r.rows.map(toStream);
  }

  async streamRowsAt(step: RollupStep, appId: string, dimension: string, t: number): Promise<StreamRollupRow[]> {
    const [table, col] = STREAM_TABLE[step];
    const r = await q<StreamRaw>(
      this.pool,
      'streamRowsAt',
      `${streamSelect(col)} FROM ${table} WHERE app_id = $1 AND dimension = $2 AND ${col} = $3`,
      [appId, dimension, t],
    );
    return r.rows.map(toStream);
  }

  async streamValues(appId: string, dimension: string, from: number, to: number): Promise<string[]> {
    const values = async (table: string, t: string) =>
      (
        await q<{ value: string }>(
          this.pool,
          'streamValues',
          `SELECT value FROM ${table} WHERE app_id = $1 AND dimension = $2 AND ${t} >= $3 AND ${t} < $4
           GROUP BY value ORDER BY sum(watch_time_seconds) DESC`,
          [appId, dimension, from, to],
        )
      ).rows.map((r) => r.value);
    const hours = await values('stream_hours', 'hour');
    const minutes = await values('stream_minutes', 'minute');
    return [...new Set([...hours, ...minutes])];
  }

  async streamApps(from: number, to: number): Promise<string[]> {
    const r = await q<{ app_id: string }>(
      this.pool,
      'streamApps',
      "SELECT DISTINCT app_id FROM stream_minutes WHERE minute >= $1 AND minute < $2 AND dimension = 'global'",
      [from, to],
    );
    return r.rows.map((x) => x.app_id);
  }

  async qoeRows(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string | null,
    from: number,
    to: number,
  ): Promise<QoeRollupRow[]> {
    const [table, t] = QOE_TABLE[step];
    const r = await q(
      this.pool,
      'qoeRows',
      `SELECT app_id, dimension, value, ${t} AS t, ${QOE_FIGURES} FROM ${table}
       WHERE app_id = $1 AND dimension = $2 AND ($3::text IS NULL OR value = $3) AND ${t} >= $4 AND ${t} < $5 ORDER BY ${t}`,
      [appId, dimension, value, from, to],
    );
    return r.rows.map(toQoe);
  }

  async momentWatchRows(query: MomentWatchQuery): Promise<MomentWatchRows> {
    const r = await this.pool.query({
      text: WATCH_ROWS,
      values: [
        query.from,
        query.to,
        query.windowFrom,
        query.qoeHistoryFrom,
        query.maxValues,
        query.minVolume,
        query.trafficFrom,
      ],
      rowMode: 'array',
    });
    const out: MomentWatchRows = { stream: [], qoe: [], rooms: [] };
    for (const row of r.rows as unknown[][]) {
      const [kind, , appId, dimension, value, t] = row as [number, string, string, string, string, number];
      const n = (i: number) => row[7 + i] as number;
      if (kind === 0)
        out.stream.push(
          toStream({
            app_id: appId,
            dimension,
            value,
            t,
            sessions_started: n(0),
            sessions_closed: n(1),
            total_bytes: n(2),
            watch_time_seconds: n(3),
            unique_users: n(4),
            peak_concurrent: n(5),
          }),
        );
      else if (kind === 1) {
        const x: Record<string, unknown> = { app_id: appId, dimension, value, t, startup_hist: row[21] };
        QOE_FIGURES.split(', ')
          .slice(0, 14)
          .forEach((c, i) => {
            x[c] = n(i);
          });
        out.qoe.push(toQoe(x));
      } else
        out.rooms.push(
          toMinute({
            room_id: value,
            app_id: appId,
            minute: t,
            viewers: n(0),
            messages: n(1),
            unique_chatters: n(2),
            sentiment: row[10] as number | null,
            sentiment_n: n(4),
            top_emotes: row[22] as string,
          }),
        );
    }
    return out;
  }

  async recomputeQoeRows(step: RollupStep, appId: string, from: number, to: number): Promise<QoeRollupRow[]> {
    const rows = await qRows(
      this.pool,
      'recomputeQoeRows',
      `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')}
        FROM sessions WHERE app_id = $1 AND timestamp >= $2 AND timestamp < $3`,
      [appId, from, to],
    );
    return qoeRowsFromSessions(rows, step);
  }

  async getEngineState(key: string): Promise<number | null> {
    const r = await q<{ value: number }>(this.pool, 'getEngineState', 'SELECT value FROM engine_state WHERE key = $1', [
      key,
    ]);
    return r.rows[0]?.value ?? null;
  }

  async setEngineState(key: string, value: number): Promise<void> {
    await q(
      this.pool,
      'setEngineState',
      'INSERT INTO engine_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  async saveMoment(m: StoredMoment): Promise<number> {
    if (m.id > 0) {
      await q(
        this.pool,
        'saveMoment',
        'UPDATE moments SET ended_at = $1, peak_value = $2, baseline = $3, z_score = $4 WHERE id = $5',
        [m.endedAt, m.peakValue, m.baseline, m.zScore, m.id],
      );
      return m.id;
    }
    const r = await q<{ id: number }>(
      this.pool,
      'saveMoment',
      `INSERT INTO moments (app_id, kind, metric, dimension, value, started_at, ended_at, peak_value, baseline, z_score, threshold)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [
        m.appId,
        m.kind,
        m.metric,
        m.dimension,
        m.value,
        m.startedAt,
        m.endedAt,
        m.peakValue,
        m.baseline,
        m.zScore,
        m.threshold,
      ],
    );
    return r.rows[0]!.id;
  }

  async listMoments(m: MomentQuery): Promise<StoredMoment[]> {
    const params: unknown[] = [m.to, m.from];
    const where = ['started_at < $1', 'ended_at > $2'];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (m.metric !== undefined) add('metric = ?', m.metric);
    if (m.dimension !== undefined) add('dimension = ?', m.dimension);
    if (m.value !== undefined) add('value = ?', m.value);
    if (m.apps !== undefined) add('app_id = ANY(?::text[])', [...m.apps]);
    params.push(m.limit);
    const r = await q<MomentRow>(
      this.pool,
      'listMoments',
      `SELECT * FROM moments WHERE ${where.join(' AND ')} ORDER BY started_at DESC LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toMoment);
  }

  async countExpired(c: RetentionCutoffs): Promise<RetentionCounts> {
    const r = await q<{ sessions: number; plays: number; minutes: number; hours: number; moments: number }>(
      this.pool,
      'countExpired',
      `SELECT (SELECT count(*) FROM sessions WHERE timestamp < $1) AS sessions,
        (SELECT count(*) FROM play_sessions WHERE closed_at < $1) AS plays,
        (SELECT count(*) FROM stream_minutes WHERE minute < $2) + (SELECT count(*) FROM qoe_minutes WHERE minute < $2) AS minutes,
        (SELECT count(*) FROM stream_hours WHERE hour < $3) + (SELECT count(*) FROM qoe_hours WHERE hour < $3) AS hours,
        (SELECT count(*) FROM moments WHERE ended_at < $3) AS moments`,
      [c.raw, c.minuteRollups, c.hourlyRollups],
    );
    const x = r.rows[0]!;
    return {
      sessions: x.sessions,
      playSessions: x.plays,
      minuteRows: x.minutes,
      hourRows: x.hours,
      moments: x.moments,
    };
  }

  async deleteExpired(c: RetentionCutoffs, batch: number): Promise<RetentionCounts> {
    return transaction(this.pool, 'deleteExpired', async (db) => {
      const del = async (sql: string, cutoff: number) => (await db.query(sql, [cutoff, batch])).rowCount ?? 0;
      // By primary key: a ctid is unique only within one partition, and these tables are partitioned (0006).
      const byKey = (table: string, key: string, where: string) =>
        `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT $2)`;
      const minuteKey = 'app_id, dimension, value, minute';
      const hourKey = 'app_id, dimension, value, hour';
      const sessions = await del(byKey('sessions', 'id, session_start_ms', 'timestamp < $1'), c.raw);
      const playSessions = await del(byKey('play_sessions', 'app_id, id', 'closed_at < $1'), c.raw);
      const streamMinutes = await del(byKey('stream_minutes', minuteKey, 'minute < $1'), c.minuteRollups);
      const qoeMinutes = await del(byKey('qoe_minutes', minuteKey, 'minute < $1'), c.minuteRollups);
      const streamHours = await del(byKey('stream_hours', hourKey, 'hour < $1'), c.hourlyRollups);
      const qoeHours = await del(byKey('qoe_hours', hourKey, 'hour < $1'), c.hourlyRollups);
      const moments = await del(byKey('moments', 'id', 'ended_at < $1'), c.hourlyRollups);
      return {
        sessions,
        playSessions,
        minuteRows: streamMinutes + qoeMinutes,
        hourRows: streamHours + qoeHours,
        moments,
      };
    });
  }
}
