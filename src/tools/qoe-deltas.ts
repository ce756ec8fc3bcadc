// QoE rollup arithmetic as pure functions: what one session adds to (or, replaced, takes from) the minute and
// hour rollups of each dimension value, summed per group in memory so a store writes each key once per
// transaction. A leaf: sessions come as flat value arrays with a layout saying where each figure sits, so
// any store (SQLite rows, Postgres rows, the writer's message) feeds it without a conversion.
import { startupBucket, STARTUP_BUCKETS } from './startup-histogram.ts';

/** Where a session's figures sit in its flat value array. */
export interface QoeSourceLayout {
  app: number;
  timestamp: number;
  startup: number;
  rebuffer: number;
  play: number;
  dropped: number;
  seeks: number;
  errors: number;
  bitrate: number;
  /** (dimension name, position) for each dimension the rollups break down by. */
  dimensions: ReadonlyArray<readonly [string, number]>;
}

export type QoeStep = 60_000 | 3_600_000;
export const QOE_STEPS: readonly QoeStep[] = [60_000, 3_600_000];

/**
 * Figures of a delta, in this order: sessions, sessions with errors, then (sum, count) for startup, rebuffer,
 * play, dropped frames, seeks and bitrate: the rollup tables' column order.
 */
export const QOE_FIGURES = 14;
export const F_SESSIONS = 0;
const F_ERRORS = 1;
const F_SUMMED = 2;

/** The sum of many sessions' contributions to one (app, dimension, value, step, bucket start). */
export interface QoeDelta {
  step: QoeStep;
  appId: string;
  dimension: string;
  value: string;
  t: number;
  figures: number[];
  /** Flat (bucket, count) pairs of the startup histogram: usually one pair, cheaper than a Map. */
  hist: number[];
}

/** Sums contributions per key until taken; one per group (transaction) of sessions. */
export class QoeDeltaAccumulator {
  /**
   * app → [step × dimension slot] → value → bucket start → delta. Nested maps keyed by the strings already in
   * the row: building a composite string key per (dimension, bucket) costs more than the whole row insert.
   */
  private byApp = new Map<string, Array<Map<string, Map<number, QoeDelta>>>>();
  private readonly summed: number[];
  private readonly slotsPerStep: number;
  /** Keys (distinct deltas) held. */
  size = 0;

  constructor(private readonly layout: QoeSourceLayout) {
    this.summed = [layout.startup, layout.rebuffer, layout.play, layout.dropped, layout.seeks, layout.bitrate];
    this.slotsPerStep = 1 + layout.dimensions.length;
  }

  /** Adds (sign 1) or subtracts (sign -1) one session. */
  add(row: ArrayLike<unknown>, sign: 1 | -1): void {
    const L = this.layout;
    const appId = row[L.app] as string;
    const ts = row[L.timestamp] as number;
    const startup = row[L.startup] as number | null;
    const bucket = typeof startup === 'number' ? startupBucket(startup) : -1;
    const errors = row[L.errors] as number | null;
    const failed = typeof errors === 'number' && errors > 0 ? sign : 0;
    const slots = this.slotsOf(appId);
    for (let si = 0; si < 2; si++) {
      const step = QOE_STEPS[si]!;
      const t = Math.floor(ts / step) * step;
      const base = si * this.slotsPerStep;
      this.addTo(slots[base]!, step, appId, 'global', '', t, row, sign, failed, bucket);
      for (let d = 0; d < L.dimensions.length; d++) {
        const [dim, i] = L.dimensions[d]!;
        const v = row[i];
        if (typeof v === 'string' && v !== '')
          this.addTo(slots[base + 1 + d]!, step, appId, dim, v, t, row, sign, failed, bucket);
      }
    }
  }

  private slotsOf(appId: string): Array<Map<string, Map<number, QoeDelta>>> {
    let slots = this.byApp.get(appId);
    if (!slots) {
      slots = Array.from({ length: 2 * this.slotsPerStep }, () => new Map<string, Map<number, QoeDelta>>());
      this.byApp.set(appId, slots);
    }
    return slots;
  }

  /** Forgets every delta of one app (its rows were deleted with it). */
  dropApp(appId: string): void {
    const slots = this.byApp.get(appId);
    if (!slots) return;
    for (const slot of slots) for (const byTime of slot.values()) this.size -= byTime.size;
    this.byApp.delete(appId);
  }

  private addTo(
    slot: Map<string, Map<number, QoeDelta>>,
    step: QoeStep,
    appId: string,
    dimension: string,
    value: string,
    t: number,
    row: ArrayLike<unknown>,
    sign: number,
    failed: number,
    bucket: number,
  ): void {
    let byTime = slot.get(value);
    if (!byTime) slot.set(value, (byTime = new Map()));
    let d = byTime.get(t);
    if (!d) {
      d = { step, appId, dimension, value, t, figures: new Array<number>(QOE_FIGURES).fill(0), hist: [] };
      byTime.set(t, d);
      this.size++;
    }
    const f = d.figures;
    f[F_SESSIONS]! += sign;
    f[F_ERRORS]! += failed;
    const summed = this.summed;
    for (let k = 0; k < summed.length; k++) {
      const v = row[summed[k]!];
      if (typeof v === 'number') {
        const at = F_SUMMED + 2 * k;
        f[at]! += sign * v;
        f[at + 1]! += sign;
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

  /** Every summed delta, in no particular order. */
  *deltas(): Generator<QoeDelta> {
    for (const slots of this.byApp.values())
      for (const slot of slots) for (const byTime of slot.values()) yield* byTime.values();
  }

  /** Starts a new group (after the deltas were written, or when the transaction rolled back). */
  clear(): void {
    this.byApp.clear();
    this.size = 0;
  }
}

/** One rollup row computed from scratch: the shape of the store's QoeRollupRow. */
export interface QoeRollupFigures {
  appId: string;
  dimension: string;
  value: string;
  t: number;
  sessions: number;
  sessionsWithErrors: number;
  startupSum: number;
  startupCount: number;
  rebufferSum: number;
  rebufferCount: number;
  playSum: number;
  playCount: number;
  droppedSum: number;
  droppedCount: number;
  seeksSum: number;
  seeksCount: number;
  bitrateSum: number;
  bitrateCount: number;
  /** Dense counts per startup bucket. */
  startupHist: number[];
}

/** Rollup rows computed from scratch out of whole sessions: the reference the incremental path must equal. */
export function qoeRowsFromSessions(
  rows: Iterable<ArrayLike<unknown>>,
  layout: QoeSourceLayout,
  step: QoeStep,
): QoeRollupFigures[] {
  const out = new Map<string, QoeRollupFigures>();
  const L = layout;
  for (const row of rows) {
    const appId = row[L.app] as string;
    const t = Math.floor((row[L.timestamp] as number) / step) * step;
    const dims: Array<[string, string]> = [['global', '']];
    for (const [dim, i] of L.dimensions) {
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
      if (((row[L.errors] as number | null) ?? 0) > 0) r.sessionsWithErrors++;
      const v = (i: number) => row[i] as number | null;
      if (v(L.startup) !== null) {
        r.startupSum += v(L.startup)!;
        r.startupCount++;
        r.startupHist[startupBucket(v(L.startup)!)]!++;
      }
      if (v(L.rebuffer) !== null) (r.rebufferSum += v(L.rebuffer)!), r.rebufferCount++;
      if (v(L.play) !== null) (r.playSum += v(L.play)!), r.playCount++;
      if (v(L.dropped) !== null) (r.droppedSum += v(L.dropped)!), r.droppedCount++;
      if (v(L.seeks) !== null) (r.seeksSum += v(L.seeks)!), r.seeksCount++;
      if (v(L.bitrate) !== null) (r.bitrateSum += v(L.bitrate)!), r.bitrateCount++;
    }
  }
  return [...out.values()];
}
