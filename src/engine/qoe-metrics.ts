// QoE figures derived on read from summed rollup rows: rates, means and percentiles (from the merged
// startup histogram, within 5 % of the exact value).
import type { QoeRollupRow } from '../store/index.ts';
import { emptyHistogram, histogramQuantile, mergeHistogram } from '../tools/startup-histogram.ts';

export const QOE_METRICS = [
  'sessions',
  'playback_failure_pct',
  'rebuffer_pct',
  'startup_mean_ms',
  'startup_p50_ms',
  'startup_p95_ms',
  'startup_p99_ms',
  'bitrate_mean_bps',
  'dropped_frames',
] as const;
export type QoeMetric = (typeof QOE_METRICS)[number];
export type QoeFigures = Record<QoeMetric, number | null>;

/** Sums of several rollup rows (minutes, hours, or values of a dimension). */
export interface QoeTotals {
  sessions: number;
  sessionsWithErrors: number;
  startupSum: number;
  startupCount: number;
  rebufferSum: number;
  playSum: number;
  droppedSum: number;
  bitrateSum: number;
  bitrateCount: number;
  hist: number[];
}

export function emptyTotals(): QoeTotals {
  return {
    sessions: 0,
    sessionsWithErrors: 0,
    startupSum: 0,
    startupCount: 0,
    rebufferSum: 0,
    playSum: 0,
    droppedSum: 0,
    bitrateSum: 0,
    bitrateCount: 0,
    hist: emptyHistogram(),
  };
}

export function addRow(into: QoeTotals, r: QoeRollupRow): void {
  into.sessions += r.sessions;
  into.sessionsWithErrors += r.sessionsWithErrors;
  into.startupSum += r.startupSum;
  into.startupCount += r.startupCount;
  into.rebufferSum += r.rebufferSum;
  into.playSum += r.playSum;
  into.droppedSum += r.droppedSum;
  into.bitrateSum += r.bitrateSum;
  into.bitrateCount += r.bitrateCount;
  mergeHistogram(into.hist, r.startupHist);
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function deriveQoe(t: QoeTotals): QoeFigures {
  const pct = (num: number, den: number) => (den > 0 ? round((100 * num) / den, 4) : null);
  const q = (p: number) => {
    const v = histogramQuantile(t.hist, p);
    return v === null ? null : round(v, 1);
  };
  return {
    sessions: t.sessions,
    playback_failure_pct: pct(t.sessionsWithErrors, t.sessions),
    rebuffer_pct: pct(t.rebufferSum, t.playSum + t.rebufferSum),
    startup_mean_ms: t.startupCount > 0 ? round(t.startupSum / t.startupCount, 1) : null,
    startup_p50_ms: q(0.5),
    startup_p95_ms: q(0.95),
    startup_p99_ms: q(0.99),
    bitrate_mean_bps: t.bitrateCount > 0 ? Math.round(t.bitrateSum / t.bitrateCount) : null,
    dropped_frames: t.sessions > 0 ? t.droppedSum : null,
  };
}
