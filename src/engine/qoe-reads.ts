// QoE answers read from the rollups: one metric as a series with a point for every bucket, and every metric
// per value of one dimension. The routes only parse, authorise and shape; the filling and summing is here.
import type { RollupStep, Store } from '../store/index.ts';
import { addRow, deriveQoe, emptyTotals, type QoeFigures, type QoeMetric, type QoeTotals } from './qoe-metrics.ts';

export interface QoePoint {
  t: number;
  value: number | null;
}

/**
 * One point per bucket of [from, to) of one metric of an app (or of one dimension value): a bucket without
 * a row had no sessions, so its `sessions` is 0 and every other metric is unknown (null).
 */
export async function qoeSeries(
  store: Store,
  step: RollupStep,
  appId: string,
  metric: QoeMetric,
  dimension: string,
  value: string,
  from: number,
  to: number,
): Promise<QoePoint[]> {
  const rows = await store.qoeRows(step, appId, dimension, value, from, to);
  const byT = new Map(rows.map((r) => [r.t, r]));
  const points: QoePoint[] = [];
  for (let t = from; t < to; t += step) {
    const r = byT.get(t);
    if (!r) {
      points.push({ t, value: metric === 'sessions' ? 0 : null });
      continue;
    }
    const totals = emptyTotals();
    addRow(totals, r);
    points.push({ t, value: deriveQoe(totals)[metric] });
  }
  return points;
}

/** Every QoE metric per value of `dimension` over [from, to), most sessions first (then by value). */
export async function qoeBreakdown(
  store: Store,
  step: RollupStep,
  appId: string,
  dimension: string,
  from: number,
  to: number,
): Promise<Array<{ value: string } & QoeFigures>> {
  const totals = new Map<string, QoeTotals>();
  for (const r of await store.qoeRows(step, appId, dimension, null, from, to)) {
    let t = totals.get(r.value);
    if (!t) totals.set(r.value, (t = emptyTotals()));
    addRow(t, r);
  }
  return [...totals]
    .map(([value, t]) => ({ value, ...deriveQoe(t) }))
    .sort((a, b) => b.sessions! - a.sessions! || a.value.localeCompare(b.value));
}

export interface QoeSummaryPeriod extends QoeFigures {
  from: number;
  to: number;
  /**
   * How bitrate_mean_bps is weighted: by play time (from the raw sessions), or per session (from the rollups)
   * when the period reaches back past the raw sessions' retention or holds more than 100,000 sessions.
   */
  bitrate_weighting: 'play_time' | 'session';
}

const MINUTE_MS = 60_000;
/** Beyond this many sessions in a period, the raw read would cost too much: bitrate is the rollups' per-session mean. */
const RAW_BITRATE_MAX_SESSIONS = 100_000;
const HOUR_MS = 3_600_000;

/**
 * Every QoE figure of [from, to) (whole minutes) as one exact row: sums added from hourly rows for the whole
 * hours inside the period and minute rows for its ragged edges, percentiles from the merged histograms (not an
 * average of per-bucket percentiles), bitrate weighted by play time from the raw sessions when they are kept.
 */
export async function qoeSummaryPeriod(
  store: Store,
  appId: string,
  filter: { dimension: string; value: string },
  from: number,
  to: number,
  rawKeptFrom: number,
): Promise<QoeSummaryPeriod> {
  const totals = emptyTotals();
  const add = async (step: RollupStep, a: number, b: number) => {
    if (a >= b) return;
    for (const r of await store.qoeRows(step, appId, filter.dimension, filter.value, a, b)) addRow(totals, r);
  };
  const firstHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const lastHour = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (firstHour < lastHour) {
    await add(60_000, from, firstHour);
    await add(3_600_000, firstHour, lastHour);
    await add(60_000, lastHour, to);
  } else await add(60_000, from, to);
  const figures = deriveQoe(totals);
  let weighting: 'play_time' | 'session' = 'session';
  if (from >= rawKeptFrom) {
    const w = await store.qoeWeightedBitrate(appId, filter.dimension, filter.value, from, to, RAW_BITRATE_MAX_SESSIONS);
    if (w) {
      figures.bitrate_mean_bps = w.playMs > 0 ? Math.round(w.weightedSum / w.playMs) : null;
      weighting = 'play_time';
    }
  }
  return { from, to, ...figures, bitrate_weighting: weighting };
}

/** The summary of [from, to) and of the period of equal length just before it. */
export async function qoeSummary(
  store: Store,
  appId: string,
  filter: { dimension: string; value: string },
  from: number,
  to: number,
  rawKeptFrom: number,
): Promise<{ current: QoeSummaryPeriod; previous: QoeSummaryPeriod }> {
  const a = Math.floor(from / MINUTE_MS) * MINUTE_MS;
  // A partial last minute counts whole, as the minute rows hold it (the live Overview ends at "now").
  const b = Math.ceil(to / MINUTE_MS) * MINUTE_MS;
  const len = Math.max(MINUTE_MS, b - a);
  const end = a + len;
  return {
    current: await qoeSummaryPeriod(store, appId, filter, a, end, rawKeptFrom),
    previous: await qoeSummaryPeriod(store, appId, filter, a - len, a, rawKeptFrom),
  };
}
