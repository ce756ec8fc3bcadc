// QoE rollups kept in step with the sessions table inside the writer's transaction: each upsert adds the
// new session's contribution and, when it replaces a stored one, subtracts the old one. Contributions of a
// whole group are summed in memory first and written once per (app, dimension, value, bucket), so a batch
// of a thousand sessions costs a few dozen row updates, not nine thousand.
import type Database from 'better-sqlite3';
import { addPairs, encodePairs, startupBucket, STARTUP_BUCKETS } from '../../tools/startup-histogram.ts';
import type { QoeRollupRow, RollupStep } from '../types.ts';
import { SESSION_OFFSET, type SessionColumn } from './session-rows.ts';

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
const C = {
  app: col('app_id'),
  timestamp: col('timestamp'),
  startup: col('startup_time_ms'),
  rebuffer: col('rebuffer_time_ms'),
  play: col('play_time_ms'),
  dropped: col('total_dropped_frames'),
  seeks: col('total_seek_count'),
  errors: col('error_count'),
  bitrate: col('mean_video_format_bitrate'),
};
const DIMENSION_COLUMNS = Object.entries(QOE_DIMENSIONS).map(([dim, column]) => [dim, col(column)] as const);
/** global + each dimension. */
const SLOTS_PER_STEP = 1 + DIMENSION_COLUMNS.length;

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

// Figures in a delta: sessions, sessions with errors, then (sum, count) pairs for SUMMED from F_STARTUP.
const F_SESSIONS = 0,
  F_ERRORS = 1,
  F_STARTUP = 2;
const _FIGURES = 14;
/** Columns summed with their count, in figure order from F_STARTUP. */
const SUMMED = [C.startup, C.rebuffer, C.play, C.dropped, C.seeks, C.bitrate];

interface Delta {
  step: RollupStep;
  appId: string;
  dimension: string;
  value: string;
  t: number;
  figures: number[];
  /** Flat (bucket, count) pairs: usually one pair, and a Map per delta would cost more than the rest. */
  hist: number[];
}

const TABLE = { 60000: ['qoe_minutes', 'minute'], 3600000: ['qoe_hours', 'hour'] } as const;

const COLUMNS =
  'sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, rebuffer_count, play_sum, play_count, dropped_sum, dropped_count, seeks_sum, seeks_count, bitrate_sum, bitrate_count, startup_hist';

export class QoeRollupWriter {
  /**
   * app → [step × dimension slot] → value → bucket → delta. Nested maps keyed by the strings already in the
   * row: building a composite string key per (dimension, bucket) costs more than the whole row insert.
   */
  private deltas = new Map<string, Array<Map<string, Map<number, Delta>>>>();
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
      };
    };
    this.stmts = { 60000: forStep(60_000), 3600000: forStep(3_600_000) };
  }

  /** Adds (sign 1) or subtracts (sign -1) one session, given as values in SESSION_COLUMNS order. */
  add(row: ArrayLike<unknown>, sign: 1 | -1): void {
    const appId = row[C.app] as string;
    const ts = row[C.timestamp] as number;
    const startup = row[C.startup] as number | null;
    const bucket = startup === null ? -1 : startupBucket(startup);
    let slots = this.deltas.get(appId);
    if (!slots) {
      slots = Array.from({ length: 2 * SLOTS_PER_STEP }, () => new Map<string, Map<number, Delta>>());
      this.deltas.set(appId, slots);
    }
    for (let si = 0; si < 2; si++) {
      const step = si === 0 ? 60_000 : 3_600_000;
      const t = Math.floor(ts / step) * step;
      const base = si * SLOTS_PER_STEP;
      this.addTo(slots[base]!, step, appId, 'global', '', t, row, sign, bucket);
      for (let d = 0; d < DIMENSION_COLUMNS.length; d++) {
        const [dim, i] = DIMENSION_COLUMNS[d]!;
        const v = row[i];
        if (typeof v === 'string' && v !== '')
          this.addTo(slots[base + 1 + d]!, step, appId, dim, v, t, row, sign, bucket);
      }
    }
  }

  private addTo(
    slot: Map<string, Map<number, Delta>>,
    step: RollupStep,
    appId: string,
    dimension: string,
    value: string,
    t: number,
    row: ArrayLike<unknown>,
    sign: number,
    bucket: number,
  ): void {
    let byTime = slot.get(value);
    if (!byTime) slot.set(value, (byTime = new Map()));
    let d = byTime.get(t);
    if (!d) {
      d = { step, appId, dimension, value, t, figures: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], hist: [] };
      byTime.set(t, d);
    }
    const f = d.figures;
    f[F_SESSIONS]! += sign;
    const errors = row[C.errors] as number | null;
    if (errors !== null && errors > 0) f[F_ERRORS]! += sign;
    for (let k = 0; k < SUMMED.length; k++) {
      const v = row[SUMMED[k]!];
      if (typeof v === 'number') {
        const slot = F_STARTUP + 2 * k;
        f[slot]! += sign * v;
        f[slot + 1]! += sign;
      }
    }
    if (bucket >= 0) {
      const h = d.hist;
      let i = 0;
      while (i < h.length && h[i] !== bucket) i += 2;
      if (i < h.length) h[i + 1]! += sign;
      else h.push(bucket, sign);
    }
  }

  private *allDeltas(): Generator<Delta> {
    for (const slots of this.deltas.values())
      for (const slot of slots) for (const byTime of slot.values()) yield* byTime.values();
  }

  /**
   * Writes the summed contributions into the rollup tables (inside the caller's transaction): one upsert per
   * key, adding to what is stored; the histogram is merged by the m3w_hist_add SQL function.
   */
  flush(): void {
    for (const d of this.allDeltas()) {
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
    this.deltas.clear();
  }

  /** Forgets contributions of a transaction that was rolled back. */
  discard(): void {
    this.deltas.clear();
  }
}

/** Rollup rows computed from scratch out of session rows (SESSION_COLUMNS order): the reference the incremental path must equal. */
export function qoeRowsFromSessions(rows: Iterable<ArrayLike<unknown>>, step: RollupStep): QoeRollupRow[] {
  const out = new Map<string, QoeRollupRow>();
  for (const row of rows) {
    const appId = row[C.app] as string;
    const t = Math.floor((row[C.timestamp] as number) / step) * step;
    const dims: Array<[string, string]> = [['global', '']];
    for (const [dim, i] of DIMENSION_COLUMNS) {
      const v = row[i];
      if (typeof v === 'string' && v !== '') dims.push([dim, v]);
    }
    for (const [dimension, value] of dims) {
      const key = `${appId}\u0000${dimension}\u0000${value}\u0000${t}`;
      let r = out.get(key);
      if (!r) {
        r = {
          appId,
          dimension,
          value,
          t,
          sessions: 0,
          sessionsWithErrors: 0,
          startupSum: 0,
          startupCount: 0,
          rebufferSum: 0,
          rebufferCount: 0,
          playSum: 0,
          playCount: 0,
          droppedSum: 0,
          droppedCount: 0,
          seeksSum: 0,
          seeksCount: 0,
          bitrateSum: 0,
          bitrateCount: 0,
          startupHist: new Array<number>(STARTUP_BUCKETS).fill(0),
        };
        out.set(key, r);
      }
      r.sessions++;
      if (((row[C.errors] as number | null) ?? 0) > 0) r.sessionsWithErrors++;
      const v = (i: number) => row[i] as number | null;
      if (v(C.startup) !== null) {
        r.startupSum += v(C.startup)!;
        r.startupCount++;
        r.startupHist[startupBucket(v(C.startup)!)]!++;
      }
      if (v(C.rebuffer) !== null) (r.rebufferSum += v(C.rebuffer)!), r.rebufferCount++;
      if (v(C.play) !== null) (r.playSum += v(C.play)!), r.playCount++;
      if (v(C.dropped) !== null) (r.droppedSum += v(C.dropped)!), r.droppedCount++;
      if (v(C.seeks) !== null) (r.seeksSum += v(C.seeks)!), r.seeksCount++;
      if (v(C.bitrate) !== null) (r.bitrateSum += v(C.bitrate)!), r.bitrateCount++;
    }
  }
  return [...out.values()];
}
