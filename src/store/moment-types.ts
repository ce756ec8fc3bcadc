// A moment as the store keeps it and the API answers it: an anomaly the analytics engine found (its wire schema,
// which the dashboard imports, is Moment in src/wire/analytics.ts; the routes check this type against it).
/** A spike or drop in one metric for one dimension value, from startedAt to the end of its last minute. */
export interface StoredMoment {
  id: number;
  appId: string | null;
  kind: 'spike' | 'drop';
  metric: string;
  dimension: string;
  value: string;
  startedAt: number;
  endedAt: number;
  peakValue: number;
  baseline: number;
  zScore: number;
  threshold: number;
}
