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
