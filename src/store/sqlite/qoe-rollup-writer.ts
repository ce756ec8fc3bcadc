// Persists QoE rollup deltas inside the writer's transaction: the arithmetic (what each session adds or, when
// replaced, takes away, summed per group) is in tools/qoe-deltas.ts; this adds each summed delta to its
// stored row with one upsert per (app, dimension, value, bucket), so a batch of a thousand sessions costs a
// few dozen row updates, not eighteen thousand.
import type Database from 'better-sqlite3';
import {
  F_SESSIONS,
  qoeRowsFromSessions as rowsFrom,
  type QoeDelta,
  type QoeRollupFigures,
  type QoeSourceLayout,
} from '../../tools/qoe-deltas.ts';
import { addPairs, encodeHistogram, encodePairs } from '../../tools/startup-histogram.ts';
import type { QoeRollupRow, RollupStep } from '../types.ts';
import { SESSION_COLUMNS, SESSION_OFFSET, type SessionColumn } from './session-rows.ts';

/** SessionSummary fields the QoE rollups are broken down by, with their column. */
export const QOE_DIMENSIONS = {
  contentId: 'content_id',
  streamType: 'stream_type',
  appVersion: 'app_version',
  deviceModel: 'device_model',
  os: 'os',
  country: 'country',
  cdn: 'cdn',
  playerName: 'player_name',
} as const;
export type QoeDimension = keyof typeof QOE_DIMENSIONS;

const col = (name: SessionColumn) => SESSION_OFFSET[name];
/** Where the rollup arithmetic finds its figures in a flat session row (the writer's message and rows read back). */
export const QOE_LAYOUT: QoeSourceLayout = {
  app: col('app_id'),
  timestamp: col('timestamp'),
  startup: col('startup_time_ms'),
  rebuffer: col('rebuffer_time_ms'),
  play: col('play_time_ms'),
  dropped: col('total_dropped_frames'),
  seeks: col('total_seek_count'),
  errors: col('error_count'),
  bitrate: col('mean_video_format_bitrate'),
  dimensions: Object.entries(QOE_DIMENSIONS).map(([dim, column]) => [dim, col(column)] as const),
};

/** The session columns a contribution reads, in SESSION_COLUMNS positions (so stored rows map the same way). */
export const QOE_SOURCE_COLUMNS = [
  'app_id',
  'timestamp',
  'startup_time_ms',
  'rebuffer_time_ms',
  'play_time_ms',
  'total_dropped_frames',
  'total_seek_count',
  'error_count',
  'mean_video_format_bitrate',
  ...Object.values(QOE_DIMENSIONS),
] as const;

const TABLE = { 60000: ['qoe_minutes', 'minute'], 3600000: ['qoe_hours', 'hour'] } as const;

const COLUMNS =
  'sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, rebuffer_count, play_sum, play_count, dropped_sum, dropped_count, seeks_sum, seeks_count, bitrate_sum, bitrate_count, startup_hist';

export class QoeRollupWriter {
  private readonly stmts;
  constructor(db: Database.Database) {
    db.function('m3w_hist_add', { deterministic: true }, (stored: unknown, delta: unknown) =>
      addPairs(stored as Buffer | null, delta as Buffer | null),
    );
    const summed = COLUMNS.split(', ').filter((c) => c !== 'startup_hist');
    const forStep = (step: RollupStep) => {
      const [table, tcol] = TABLE[step];
      return {
        upsert: db.prepare(
          `INSERT INTO ${table} (app_id, dimension, value, ${tcol}, ${COLUMNS}) VALUES (${new Array(19).fill('?').join(', ')})
           ON CONFLICT (app_id, dimension, value, ${tcol}) DO UPDATE SET
           ${summed.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}, startup_hist = m3w_hist_add(startup_hist, excluded.startup_hist)`,
        ),
        deleteEmpty: db.prepare(
          `DELETE FROM ${table} WHERE app_id = ? AND dimension = ? AND value = ? AND ${tcol} = ? AND sessions <= 0`,
        ),
        // Per dimension, so the (app_id, dimension, time) index finds the bucket's rows.
        deleteBucket: db.prepare(`DELETE FROM ${table} WHERE app_id = ? AND dimension = ? AND ${tcol} = ?`),
        insert: db.prepare(
          `INSERT INTO ${table} (app_id, dimension, value, ${tcol}, ${COLUMNS}) VALUES (${new Array(19).fill('?').join(', ')})`,
        ),
      };
    };
    this.stmts = { 60000: forStep(60_000), 3600000: forStep(3_600_000) };
  }

  /**
   * Writes the summed contributions into the rollup tables (inside the caller's transaction): one upsert per
   * key, adding to what is stored; the histogram is merged by the m3w_hist_add SQL function.
   */
  persist(deltas: Iterable<QoeDelta>): void {
    for (const d of deltas) {
      const s = this.stmts[d.step];
      const f = d.figures;
      s.upsert.run(
        d.appId,
        d.dimension,
        d.value,
        d.t,
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9],
        f[10],
        f[11],
        f[12],
        f[13],
        encodePairs(d.hist),
      );
      // Only a replacement subtracts (a session replaced within the same group nets to zero); a row left
      // without sessions goes.
      if (f[F_SESSIONS]! <= 0) s.deleteEmpty.run(d.appId, d.dimension, d.value, d.t);
    }
  }

  /**
   * Replaces every row of one app's bucket (a minute or an hour) with rows computed from scratch (inside the
   * caller's transaction): crash recovery of deltas that were pending when the process died.
   */
  replaceBucket(step: RollupStep, appId: string, t: number, rows: readonly QoeRollupFigures[]): void {
    const s = this.stmts[step];
    for (const dimension of DIMENSION_NAMES) s.deleteBucket.run(appId, dimension, t);
    for (const r of rows)
      s.insert.run(
        r.appId,
        r.dimension,
        r.value,
        r.t,
        r.sessions,
        r.sessionsWithErrors,
        r.startupSum,
        r.startupCount,
        r.rebufferSum,
        r.rebufferCount,
        r.playSum,
        r.playCount,
        r.droppedSum,
        r.droppedCount,
        r.seeksSum,
        r.seeksCount,
        r.bitrateSum,
        r.bitrateCount,
        encodeHistogram(r.startupHist),
      );
  }
}

const DIMENSION_NAMES = ['global', ...Object.keys(QOE_DIMENSIONS)];

/** Rollup rows computed from scratch out of session rows (SESSION_COLUMNS order): the reference the incremental path must equal. */
export function qoeRowsFromSessions(rows: Iterable<ArrayLike<unknown>>, step: RollupStep): QoeRollupRow[] {
  return rowsFrom(rows, QOE_LAYOUT, step);
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * Recomputes from the sessions table the QoE minute rows, and their hour rows, of every (app, minute) marked in
 * qoe_dirty, then clears the marks, in one transaction: the marks a crash left over deltas the session writer
 * held in memory. The writer runs it at start-up, before it takes any request; a backup runs it on its copy.
 * Returns the number of marks.
 */
export function recoverMarkedRollups(db: Database.Database, rollups: QoeRollupWriter): number {
  const marks = db.prepare('SELECT DISTINCT app_id, minute FROM qoe_dirty').raw().all() as Array<[string, number]>;
  if (marks.length === 0) return 0;
  const sessions = db
    .prepare(
      `SELECT ${SESSION_COLUMNS.map((c) => (c === 'payload' || c === 'custom' ? 'NULL' : c)).join(', ')}
         FROM sessions WHERE app_id = ? AND timestamp >= ? AND timestamp < ?`,
    )
    .raw();
  const recompute = (step: RollupStep, appId: string, t: number) =>
    rollups.replaceBucket(
      step,
      appId,
      t,
      qoeRowsFromSessions(sessions.iterate(appId, t, t + step) as Iterable<unknown[]>, step),
    );
  db.transaction(() => {
    const hours = new Map<string, [string, number]>();
    for (const [appId, minute] of marks) {
      recompute(MINUTE, appId, minute);
      const hour = Math.floor(minute / HOUR) * HOUR;
      hours.set(`${appId}\u0000${hour}`, [appId, hour]);
    }
    // An hour row is the sum over all of its minutes' sessions: recomputed whole, not patched.
    for (const [appId, hour] of hours.values()) recompute(HOUR, appId, hour);
    db.prepare('DELETE FROM qoe_dirty').run();
  })();
  return marks.length;
}
