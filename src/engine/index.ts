// The analytics engine: rollups, moments, retention and the live tracker, run inside the m3w process.
//
// For the live feed (dashboard, WebSocket hub):
//   engine.live.counts(): ActiveCounts                      — the GET /stats/active answer, right now
//   engine.onMoment((m: Moment) => void): () => void        — new and updated moments as they are found
//   engine.recentSeries(dimension, value, minutes?)         — per-minute stream rows (viewers = peakConcurrent,
//                                                             bandwidth = totalBytes * 8 / 60) of the last hour
export { AnalyticsEngine, type EngineOptions, type MinuteJobReport } from './engine.ts';
export {
  detectMoments,
  type DetectedMoment,
  type DetectorOptions,
  type Moment,
  type MomentKind,
  type SeriesPoint,
} from './moments.ts';
export {
  deriveQoe,
  addRow,
  emptyTotals,
  QOE_METRICS,
  type QoeFigures,
  type QoeMetric,
  type QoeTotals,
} from './qoe-metrics.ts';
export { StreamRollupAccumulator } from './stream-rollup.ts';
export { ROLLUP_DIMENSIONS, STREAM_DIMENSIONS, type RollupDimension } from '../tools/stream-dimensions.ts';
export { retentionCutoffs, runRetention, type RetentionReport } from './retention.ts';
export { histogramQuantile, startupBucket, bucketValue } from './startup-histogram.ts';
