// Moments: anomalies on a minute series found with a rolling z-score. The baseline is the mean and standard
// deviation of the previous `baselineMinutes` normal minutes (anomalous ones are kept out so a long spike
// does not become its own baseline). One anomalous minute alone is not a moment unless it is extreme: two
// in a row at the threshold, or one at twice the threshold. That is what keeps stationary noise quiet
// (a 3σ minute comes by chance every few hundred minutes; two in a row, every few hundred thousand), together
// with a long-run floor under the standard deviation, since a calm half hour would otherwise shrink it.
// A level that moves and stays moved (a step, or a ramp from 20 to 35 viewers) is one moment, not a series: an
// anomaly of the same kind within `mergeGap` points of a moment's end continues it, and a moment that lasts half
// a baseline lets the baseline learn the new level, so it ends instead of firing again. A point is a minute by
// default; a small app's series is judged over longer buckets (`bucketMs`, see moment-watch.ts).

import type { StoredMoment } from '../store/index.ts';

export type MomentKind = StoredMoment['kind'];

/** An anomaly as stored and published. Times are epoch ms; endedAt is the end of its last minute. */
export type Moment = StoredMoment;

export interface SeriesPoint {
  /** Minute start, epoch ms. */
  t: number;
  /** null: no data that minute (skipped, not treated as zero). */
  value: number | null;
  /** Sessions behind the value; minutes below minVolume are not judged. */
  volume: number;
}

export interface DetectorOptions {
  baselineMinutes: number;
  zThreshold: number;
  minVolume: number;
  kinds: readonly MomentKind[];
  /** Smallest standard deviation used, in the metric's unit: a flat baseline must not turn any wiggle into an alarm. */
  minSd: number;
  /** The width of one point in ms (one minute unless a small app is judged over longer buckets). */
  bucketMs?: number;
  /** An anomaly of the same kind at most this many points after a moment's end continues it (default 5). */
  mergeGap?: number;
}

export interface DetectedMoment {
  kind: MomentKind;
  startedAt: number;
  endedAt: number;
  peakValue: number;
  baseline: number;
  zScore: number;
}

const MIN_HISTORY_FRACTION = 0.5;

/** Moments in a series (points in time order, one per minute at most). */
export function detectMoments(points: readonly SeriesPoint[], opts: DetectorOptions): DetectedMoment[] {
  const found: DetectedMoment[] = [];
  const bucket = opts.bucketMs ?? 60_000;
  const mergeGapMs = (opts.mergeGap ?? 5) * bucket;
  /** The last moment of each kind: a new anomaly soon after it is the same change going on. */
  const lastOf = new Map<MomentKind, DetectedMoment>();
  const history: number[] = [];
  const minHistory = Math.max(5, Math.ceil(opts.baselineMinutes * MIN_HISTORY_FRACTION));
  type Pending = { kind: MomentKind; t: number; x: number; z: number; mean: number };
  let pending: Pending | null = null;
  let current: DetectedMoment | null = null;
  // A 30-minute window sometimes happens to be unusually calm, and its small standard deviation would turn
  // ordinary minutes into alarms; a slower, long-run estimate of the spread keeps a floor under it.
  const longRunWeight = 1 / (4 * opts.baselineMinutes);
  let longRunVariance: number | null = null;
  for (const p of points) {
    if (p.value === null) continue;
    const x = p.value;
    let kind: MomentKind | null = null;
    let z = 0;
    let mean = 0;
    if (history.length >= minHistory) {
      mean = history.reduce((a, b) => a + b, 0) / history.length;
      const variance = history.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (history.length - 1);
      if (longRunVariance === null) longRunVariance = variance;
      const sd = Math.max(Math.sqrt(variance), Math.sqrt(longRunVariance), opts.minSd);
      z = (x - mean) / sd;
      const volumeOk = Math.max(p.volume, 0) >= opts.minVolume;
      if (volumeOk && z >= opts.zThreshold && opts.kinds.includes('spike')) kind = 'spike';
      else if (volumeOk && z <= -opts.zThreshold && opts.kinds.includes('drop')) kind = 'drop';
    }
    if (kind !== null && (!current || current.kind !== kind)) {
      const last = lastOf.get(kind);
      // The same change still going on (a ramp, a level that wobbles back for a minute): not a new moment.
      if (last && p.t - last.endedAt <= mergeGapMs) {
        current = last;
        pending = null;
      }
    }
    if (kind !== null && current && current.kind === kind) {
      // The moment goes on.
      current.endedAt = p.t + bucket;
      if (Math.abs(z) > Math.abs(current.zScore)) current.zScore = z;
      if (kind === 'spike' ? x > current.peakValue : x < current.peakValue) current.peakValue = x;
      // A level that holds for half a baseline is the new normal: let the baseline learn it, so the moment ends.
      if (current.endedAt - current.startedAt > (opts.baselineMinutes / 2) * bucket) {
        history.push(x);
        if (history.length > opts.baselineMinutes) history.shift();
      }
      continue;
    }
    current = null;
    if (kind !== null) {
      const confirmed =
        (pending && pending.kind === kind && pending.t >= p.t - 2 * bucket) || Math.abs(z) >= 2 * opts.zThreshold;
      if (confirmed) {
        const start: Pending = pending && pending.kind === kind ? pending : { kind, t: p.t, x, z, mean };
        current = {
          kind,
          startedAt: start.t,
          endedAt: p.t + bucket,
          peakValue: kind === 'spike' ? Math.max(start.x, x) : Math.min(start.x, x),
          baseline: start.mean,
          zScore: Math.abs(start.z) > Math.abs(z) ? start.z : z,
        };
        found.push(current);
        lastOf.set(kind, current);
        pending = null;
      } else pending = { kind, t: p.t, x, z, mean };
      continue;
    }
    pending = null;
    if (longRunVariance !== null) longRunVariance += longRunWeight * ((x - mean) * (x - mean) - longRunVariance);
    history.push(x);
    if (history.length > opts.baselineMinutes) history.shift();
  }
  return found;
}
