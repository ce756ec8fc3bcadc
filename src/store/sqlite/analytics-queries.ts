// The analytics engine's SQL on the main connection: reading play sessions and rollups, writing computed
// stream rollups, moments, engine state and retention. Ingestion writes (play events, QoE rollups) happen
// in the writer thread (session-writer.ts); everything here is either a read or a small, rare write.
import type Database from 'better-sqlite3';
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
import { addEncodedHistogram, STARTUP_BUCKETS } from '../../tools/startup-histogram.ts';
import { QOE_DIMENSIONS, qoeRowsFromSessions } from './qoe-rollup-writer.ts';
import { SESSION_COLUMNS } from './session-rows.ts';
import { type MinuteRow, toMinute } from './room-store.ts';

const FACTS =
  'app_id, id, server, channel, country, protocol, device, user_id, address, opened_at, closed_at, start_bytes, close_bytes';
type FactsRow = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  number,
  number | null,
  number | null,
  number | null,
];
const toFacts = (r: FactsRow): PlaySessionFacts => ({
  appId: r[0],
  id: r[1],
  server: r[2],
  channel: r[3],
  country: r[4],
  protocol: r[5],
  device: r[6],
  userId: r[7],
  address: r[8],
  openedAt: r[9],
  closedAt: r[10],
  startBytes: r[11],
  closeBytes: r[12],
});

export const STREAM_TABLE = { 60000: ['stream_minutes', 'minute'], 3600000: ['stream_hours', 'hour'] } as const;
export const QOE_TABLE = { 60000: ['qoe_minutes', 'minute'], 3600000: ['qoe_hours', 'hour'] } as const;
export const STREAM_FIGURES =
  'sessions_started, sessions_closed, total_bytes, watch_time_seconds, unique_users, peak_concurrent';
type StreamRaw = [string, string, string, number, number, number, number, number, number, number];
const toStream = (r: StreamRaw): StreamRollupRow => ({
  appId: r[0],
  dimension: r[1],
  value: r[2],
  t: r[3],
  sessionsStarted: r[4],
  sessionsClosed: r[5],
  totalBytes: r[6],
  watchTimeSeconds: r[7],
  uniqueUsers: r[8],
  peakConcurrent: r[9],
});
const QOE_FIGURES =
  'sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, rebuffer_count, play_sum, play_count, dropped_sum, dropped_count, seeks_sum, seeks_count, bitrate_sum, bitrate_count, startup_hist';

/** A QoE rollup row read raw (app_id, dimension, value, t, QOE_FIGURES…). */
const toQoe = (r: unknown[]): QoeRollupRow => {
  const hist = new Array<number>(STARTUP_BUCKETS).fill(0);
  addEncodedHistogram(hist, r[18] as Buffer | null);
  return {
    appId: r[0] as string,
    dimension: r[1] as string,
    value: r[2] as string,
    t: r[3] as number,
    sessions: r[4] as number,
    sessionsWithErrors: r[5] as number,
    startupSum: r[6] as number,
    startupCount: r[7] as number,
    rebufferSum: r[8] as number,
    rebufferCount: r[9] as number,
    playSum: r[10] as number,
    playCount: r[11] as number,
    droppedSum: r[12] as number,
    droppedCount: r[13] as number,
    seeksSum: r[14] as number,
    seeksCount: r[15] as number,
    bitrateSum: r[16] as number,
    bitrateCount: r[17] as number,
    startupHist: hist,
  };
};

/**
 * The moment watch's reads (see AnalyticsStore.momentWatchRows). On SQLite a read costs no round trip, so the
 * batch is the per-series reads (each on its primary key) in one read transaction; the Postgres adapter answers
 * the same in one statement.
 */
const WATCH = {
  streamApps: `SELECT DISTINCT app_id FROM stream_minutes WHERE dimension = 'global' AND minute >= ? AND minute < ?
    ORDER BY app_id`,
  channels: `SELECT value FROM stream_minutes WHERE app_id = ? AND dimension = 'channel' AND minute >= ? AND minute < ?
    GROUP BY value ORDER BY sum(watch_time_seconds) DESC, value LIMIT ?`,
  qoeApps: 'SELECT id FROM apps ORDER BY id',
  contents: `SELECT value FROM qoe_minutes WHERE app_id = ? AND dimension = 'contentId' AND minute >= ? AND minute < ?
    AND sessions >= ? GROUP BY value ORDER BY min(minute), value LIMIT ?`,
  rooms: `SELECT room_id FROM room_minutes WHERE minute >= ? AND minute < ? GROUP BY room_id ORDER BY room_id LIMIT ?`,
  roomMinutes: 'SELECT * FROM room_minutes WHERE room_id = ? AND minute >= ? AND minute < ? ORDER BY minute',
};

export interface MomentRow {
  id: number;
  app_id: string | null;
  kind: 'spike' | 'drop';
  metric: string;
  dimension: string;
  value: string;
  started_at: number;
  ended_at: number;
  peak_value: number;
  baseline: number;
  z_score: number;
  threshold: number;
}
export const toMoment = (r: MomentRow): StoredMoment => ({
  id: r.id,
  appId: r.app_id,
  kind: r.kind,
  metric: r.metric,
  dimension: r.dimension,
  value: r.value,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  peakValue: r.peak_value,
  baseline: r.baseline,
  zScore: r.z_score,
  threshold: r.threshold,
});

export class SqliteAnalytics {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    const streamFor = (step: RollupStep) => {
      const [table, t] = STREAM_TABLE[step];
      return {
        del: db.prepare(`DELETE FROM ${table} WHERE ${t} >= ? AND ${t} < ?`),
        put: db.prepare(
          `INSERT OR REPLACE INTO ${table} (app_id, dimension, value, ${t}, ${STREAM_FIGURES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        series: db
          .prepare(
            `SELECT app_id, dimension, value, ${t}, ${STREAM_FIGURES} FROM ${table} WHERE app_id = ? AND dimension = ? AND value = ? AND ${t} >= ? AND ${t} < ? ORDER BY ${t}`,
          )
          .raw(),
        at: db
          .prepare(
            `SELECT app_id, dimension, value, ${t}, ${STREAM_FIGURES} FROM ${table} WHERE app_id = ? AND dimension = ? AND ${t} = ?`,
          )
          .raw(),
      };
    };
    const qoeFor = (step: RollupStep) => {
      const [table, t] = QOE_TABLE[step];
      return {
        one: db
          .prepare(
            `SELECT app_id, dimension, value, ${t}, ${QOE_FIGURES} FROM ${table} WHERE app_id = ? AND dimension = ? AND value = ? AND ${t} >= ? AND ${t} < ? ORDER BY ${t}`,
          )
          .raw(),
        all: db
          .prepare(
            `SELECT app_id, dimension, value, ${t}, ${QOE_FIGURES} FROM ${table} WHERE app_id = ? AND dimension = ? AND ${t} >= ? AND ${t} < ? ORDER BY ${t}`,
          )
          .raw(),
      };
    };
    this.s = {
      getPlay: db.prepare('SELECT * FROM play_sessions WHERE app_id = ? AND id = ?'),
      open: db.prepare(`SELECT ${FACTS} FROM play_sessions WHERE closed_at IS NULL`).raw(),
      openBefore: db.prepare(`SELECT ${FACTS} FROM play_sessions WHERE closed_at IS NULL AND opened_at < ?`).raw(),
      closedOverlapping: db.prepare(`SELECT ${FACTS} FROM play_sessions WHERE closed_at >= ? AND opened_at < ?`).raw(),
      closeStale: db.prepare(
        `UPDATE play_sessions SET closed_at = max(?, opened_at), reason = 'stale' WHERE app_id = ? AND id = ? AND closed_at IS NULL`,
      ),
      takeDirty: db.prepare('DELETE FROM stream_dirty WHERE minute < ? RETURNING minute').pluck(),
      stream: { 60000: streamFor(60_000), 3600000: streamFor(3_600_000) },
      streamValues: db
        .prepare(
          'SELECT value FROM stream_hours WHERE app_id = ? AND dimension = ? AND hour >= ? AND hour < ? GROUP BY value ORDER BY sum(watch_time_seconds) DESC',
        )
        .pluck(),
      streamValuesMinutes: db
        .prepare(
          'SELECT value FROM stream_minutes WHERE app_id = ? AND dimension = ? AND minute >= ? AND minute < ? GROUP BY value ORDER BY sum(watch_time_seconds) DESC',
        )
        .pluck(),
      streamApps: db
        .prepare("SELECT DISTINCT app_id FROM stream_minutes WHERE minute >= ? AND minute < ? AND dimension = 'global'")
        .pluck(),
      qoe: { 60000: qoeFor(60_000), 3600000: qoeFor(3_600_000) },
      rawSessions: db
        .prepare(
          `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')} FROM sessions WHERE app_id = ? AND timestamp >= ? AND timestamp < ?`,
        )
        .raw(),
      watch: {
        streamApps: db.prepare(WATCH.streamApps).pluck(),
        channels: db.prepare(WATCH.channels).pluck(),
        qoeApps: db.prepare(WATCH.qoeApps).pluck(),
        contents: db.prepare(WATCH.contents).pluck(),
        rooms: db.prepare(WATCH.rooms).pluck(),
        roomMinutes: db.prepare(WATCH.roomMinutes),
      },
      getState: db.prepare('SELECT value FROM engine_state WHERE key = ?').pluck(),
      setState: db.prepare(
        'INSERT INTO engine_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      insertMoment: db
        .prepare(
          `INSERT INTO moments (app_id, kind, metric, dimension, value, started_at, ended_at, peak_value, baseline, z_score, threshold)
         VALUES (@appId, @kind, @metric, @dimension, @value, @startedAt, @endedAt, @peakValue, @baseline, @zScore, @threshold) RETURNING id`,
        )
        .pluck(),
      updateMoment: db.prepare(
        'UPDATE moments SET ended_at = @endedAt, peak_value = @peakValue, baseline = @baseline, z_score = @zScore WHERE id = @id',
      ),
      count: {
        // Per app, so sessions_app_time serves it: `timestamp < ?` alone scanned every stored session.
        sessions: db.prepare('SELECT count(*) FROM sessions WHERE app_id = ? AND timestamp < ?').pluck(),
        plays: db.prepare('SELECT count(*) FROM play_sessions WHERE closed_at < ?').pluck(),
        minutes: db.prepare('SELECT count(*) FROM stream_minutes WHERE minute < ?').pluck(),
        hours: db.prepare('SELECT count(*) FROM stream_hours WHERE hour < ?').pluck(),
        qoeMinutes: db
          .prepare('SELECT count(*) FROM qoe_minutes WHERE app_id = ? AND dimension = ? AND minute < ?')
          .pluck(),
        qoeHours: db.prepare('SELECT count(*) FROM qoe_hours WHERE app_id = ? AND dimension = ? AND hour < ?').pluck(),
        moments: db.prepare('SELECT count(*) FROM moments WHERE ended_at < ?').pluck(),
      },
      // Batches by rowid (or key) range so each statement touches at most `batch` rows.
      del: {
        // Per app, as the count: a batch with nothing expired scanned all the stored sessions.
        sessions: db.prepare(
          'DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE app_id = ? AND timestamp < ? LIMIT ?)',
        ),
        plays: db.prepare(
          'DELETE FROM play_sessions WHERE (app_id, id) IN (SELECT app_id, id FROM play_sessions WHERE closed_at < ? LIMIT ?)',
        ),
        streamMinutes: db.prepare(
          'DELETE FROM stream_minutes WHERE (app_id, dimension, value, minute) IN (SELECT app_id, dimension, value, minute FROM stream_minutes WHERE minute < ? LIMIT ?)',
        ),
        qoeMinutes: db.prepare(
          'DELETE FROM qoe_minutes WHERE (app_id, dimension, value, minute) IN (SELECT app_id, dimension, value, minute FROM qoe_minutes WHERE app_id = ? AND dimension = ? AND minute < ? LIMIT ?)',
        ),
        streamHours: db.prepare(
          'DELETE FROM stream_hours WHERE (app_id, dimension, value, hour) IN (SELECT app_id, dimension, value, hour FROM stream_hours WHERE hour < ? LIMIT ?)',
        ),
        qoeHours: db.prepare(
          'DELETE FROM qoe_hours WHERE (app_id, dimension, value, hour) IN (SELECT app_id, dimension, value, hour FROM qoe_hours WHERE app_id = ? AND dimension = ? AND hour < ? LIMIT ?)',
        ),
        moments: db.prepare('DELETE FROM moments WHERE id IN (SELECT id FROM moments WHERE ended_at < ? LIMIT ?)'),
      },
      apps: db.prepare('SELECT id FROM apps').pluck(),
    };
  }

  getPlaySession(appId: string, id: string): StoredPlaySession | null {
    const r = this.s.getPlay.get(appId, id) as Record<string, unknown> | undefined;
    if (!r) return null;
    return {
      appId: r.app_id as string,
      id: r.id as string,
      server: r.server as string,
      channel: r.channel as string,
      country: r.country as string,
      protocol: r.protocol as string,
      device: r.device as string,
      userId: r.user_id as string | null,
      address: r.address as string | null,
      openedAt: r.opened_at as number,
      closedAt: r.closed_at as number | null,
      startBytes: r.start_bytes as number | null,
      closeBytes: r.close_bytes as number | null,
      userName: r.user_name as string | null,
      userAgent: r.user_agent as string | null,
      reason: r.reason as string | null,
      receivedAt: r.received_at as number,
      startEvent: r.start_event as string | null,
      closeEvent: r.close_event as string | null,
    };
  }

  listOpenPlaySessions(): PlaySessionFacts[] {
    return (this.s.open.all() as FactsRow[]).map(toFacts);
  }

  /** Not used by the server on SQLite (its one process's tracker is exact); kept for the Store contract. */
  countOpenPlayGroups(): OpenPlayGroup[] {
    return this.db
      .prepare(
        `SELECT app_id AS appId, server, channel, country, protocol, device, count(*) AS count FROM play_sessions
         WHERE closed_at IS NULL GROUP BY app_id, server, channel, country, protocol, device`,
      )
      .all() as OpenPlayGroup[];
  }

  openPlaySessionsBefore(to: number): PlaySessionFacts[] {
    return (this.s.openBefore.all(to) as FactsRow[]).map(toFacts);
  }

  closedPlaySessionsOverlapping(from: number, to: number): PlaySessionFacts[] {
    return (this.s.closedOverlapping.all(from, to) as FactsRow[]).map(toFacts);
  }

  closeStalePlaySessions(
    sessions: ReadonlyArray<{ appId: string; id: string }>,
    closedAt: number,
  ): Array<{ appId: string; id: string }> {
    const closed: Array<{ appId: string; id: string }> = [];
    this.db.transaction(() => {
      for (const s of sessions)
        if (this.s.closeStale.run(closedAt, s.appId, s.id).changes > 0) closed.push({ appId: s.appId, id: s.id });
    })();
    return closed;
  }

  takeDirtyStreamMinute(upTo: number): number | null {
    const minutes = this.s.takeDirty.all(upTo) as number[];
    return minutes.length === 0 ? null : Math.min(...minutes);
  }

  replaceStreamRollups(step: RollupStep, from: number, to: number, rows: readonly StreamRollupRow[]): void {
    const s = this.s.stream[step];
    this.db.transaction(() => {
      s.del.run(from, to);
      for (const r of rows)
        s.put.run(
          r.appId,
          r.dimension,
          r.value,
          r.t,
          r.sessionsStarted,
          r.sessionsClosed,
          r.totalBytes,
          r.watchTimeSeconds,
          r.uniqueUsers,
          r.peakConcurrent,
        );
    })();
  }

  streamSeries(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    from: number,
    to: number,
  ): StreamRollupRow[] {
    return (this.s.stream[step].series.all(appId, dimension, value, from, to) as StreamRaw[]).map(toStream);
  }

  streamRowsAt(step: RollupStep, appId: string, dimension: string, t: number): StreamRollupRow[] {
    return (this.s.stream[step].at.all(appId, dimension, t) as StreamRaw[]).map(toStream);
  }

  streamValues(appId: string, dimension: string, from: number, to: number): string[] {
    const hours = this.s.streamValues.all(appId, dimension, from, to) as string[];
    const minutes = this.s.streamValuesMinutes.all(appId, dimension, from, to) as string[];
    return [...new Set([...hours, ...minutes])];
  }

  streamApps(from: number, to: number): string[] {
    return this.s.streamApps.all(from, to) as string[];
  }

  qoeRows(
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string | null,
    from: number,
    to: number,
  ): QoeRollupRow[] {
    const q = this.s.qoe[step];
    const raw = (
      value === null ? q.all.all(appId, dimension, from, to) : q.one.all(appId, dimension, value, from, to)
    ) as unknown[][];
    return raw.map(toQoe);
  }

  momentWatchRows(query: MomentWatchQuery): MomentWatchRows {
    const { windowFrom, from, to, trafficFrom, qoeHistoryFrom, maxValues, minVolume } = query;
    const w = this.s.watch;
    const stream = this.s.stream[60_000].series;
    const qoe = this.s.qoe[60_000].one;
    return this.db.transaction(() => {
      const out: MomentWatchRows = { stream: [], qoe: [], rooms: [] };
      for (const app of w.streamApps.all(windowFrom, to) as string[]) {
        const series = (dimension: string, value: string) =>
          out.stream.push(...(stream.all(app, dimension, value, windowFrom, to) as StreamRaw[]).map(toStream));
        series('global', '');
        for (const ch of w.channels.all(app, from, to, maxValues) as string[]) series('channel', ch);
      }
      for (const app of w.qoeApps.all() as string[]) {
        const recent = qoe.all(app, 'global', '', trafficFrom, to) as unknown[][];
        const sessions = recent.reduce((n, r) => n + (r[4] as number), 0);
        const small =
          recent.length > 0 && sessions / Math.max(1, (to - (recent[0]![3] as number)) / 60_000) < minVolume;
        const since = small ? qoeHistoryFrom : Math.min(windowFrom, trafficFrom);
        out.qoe.push(...(qoe.all(app, 'global', '', since, to) as unknown[][]).map(toQoe));
        for (const c of w.contents.all(app, from, to, minVolume, maxValues) as string[])
          out.qoe.push(...(qoe.all(app, 'contentId', c, windowFrom, to) as unknown[][]).map(toQoe));
      }
      for (const room of w.rooms.all(windowFrom, to, maxValues) as string[])
        out.rooms.push(...(w.roomMinutes.all(room, windowFrom, to) as MinuteRow[]).map(toMinute));
      return out;
    })();
  }

  recomputeQoeRows(step: RollupStep, appId: string, from: number, to: number): QoeRollupRow[] {
    return qoeRowsFromSessions(this.s.rawSessions.iterate(appId, from, to) as Iterable<unknown[]>, step);
  }

  getEngineState(key: string): number | null {
    return (this.s.getState.get(key) as number | undefined) ?? null;
  }

  setEngineState(key: string, value: number): void {
    this.s.setState.run(key, value);
  }

  saveMoment(m: StoredMoment): number {
    if (m.id > 0) {
      this.s.updateMoment.run(m);
      return m.id;
    }
    return this.s.insertMoment.get(m) as number;
  }

  listMoments(q: MomentQuery): StoredMoment[] {
    const where = ['started_at < @to', 'ended_at > @from'];
    if (q.metric !== undefined) where.push('metric = @metric');
    if (q.dimension !== undefined) where.push('dimension = @dimension');
    if (q.value !== undefined) where.push('value = @value');
    const params: Record<string, unknown> = {
      from: q.from,
      to: q.to,
      metric: q.metric,
      dimension: q.dimension,
      value: q.value,
      limit: q.limit,
    };
    if (q.apps !== undefined) {
      const names = q.apps.map((_, i) => `@app${i}`);
      q.apps.forEach((a, i) => {
        params[`app${i}`] = a;
      });
      where.push(names.length ? `app_id IN (${names.join(', ')})` : '0');
    }
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    const rows = this.db
      .prepare(`SELECT * FROM moments WHERE ${where.join(' AND ')} ORDER BY started_at DESC LIMIT @limit`)
      .all(params) as MomentRow[];
    return rows.map(toMoment);
  }

  /** (app, dimension) pairs of the QoE tables: their time index serves retention per pair. */
  private qoeSeries(apps: string[]): Array<[string, string]> {
    const dims = ['global', ...Object.keys(QOE_DIMENSIONS)];
    return apps.flatMap((app) => dims.map((d) => [app, d] as [string, string]));
  }

  countExpired(c: RetentionCutoffs): RetentionCounts {
    const n = this.s.count;
    const apps = this.s.apps.all() as string[];
    let qoeMinutes = 0;
    let qoeHours = 0;
    for (const [app, dim] of this.qoeSeries(apps)) {
      qoeMinutes += n.qoeMinutes.get(app, dim, c.minuteRollups) as number;
      qoeHours += n.qoeHours.get(app, dim, c.hourlyRollups) as number;
    }
    let sessions = 0;
    for (const app of apps) sessions += n.sessions.get(app, c.raw) as number;
    return {
      sessions,
      playSessions: n.plays.get(c.raw) as number,
      minuteRows: (n.minutes.get(c.minuteRollups) as number) + qoeMinutes,
      hourRows: (n.hours.get(c.hourlyRollups) as number) + qoeHours,
      moments: n.moments.get(c.hourlyRollups) as number,
    };
  }

  deleteExpired(c: RetentionCutoffs, batch: number): RetentionCounts {
    const d = this.s.del;
    return this.db.transaction(() => {
      const apps = this.s.apps.all() as string[];
      let qoeMinutes = 0;
      let qoeHours = 0;
      for (const [app, dim] of this.qoeSeries(apps)) {
        if (qoeMinutes < batch) qoeMinutes += d.qoeMinutes.run(app, dim, c.minuteRollups, batch - qoeMinutes).changes;
        if (qoeHours < batch) qoeHours += d.qoeHours.run(app, dim, c.hourlyRollups, batch - qoeHours).changes;
      }
      let sessions = 0;
      for (const app of apps) if (sessions < batch) sessions += d.sessions.run(app, c.raw, batch - sessions).changes;
      return {
        sessions,
        playSessions: d.plays.run(c.raw, batch).changes,
        minuteRows: d.streamMinutes.run(c.minuteRollups, batch).changes + qoeMinutes,
        hourRows: d.streamHours.run(c.hourlyRollups, batch).changes + qoeHours,
        moments: d.moments.run(c.hourlyRollups, batch).changes,
      };
    })();
  }

  releaseFreePages(pages: number): void {
    this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
  }
}
