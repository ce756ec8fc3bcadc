// The analytics engine: rollups, moments, retention and the live tracker, run inside the m3w process.
//
// Play events come in through engine.ingestPlayEvents(appId, events) (commit, then update the live tracker).
//
// For the live feed (dashboard, WebSocket hub):
//   engine.viewers.counts(appId): ActiveCounts              — one app's GET /stats/active answer, right now
//   engine.onMoment((m: Moment) => void): () => void        — new and updated moments as they are found
//   engine.recentSeries(app, dimension, value, minutes?)       — per-minute stream rows (viewers = peakConcurrent,
//                                                             bandwidth = totalBytes * 8 / 60) of the last hour
export { AnalyticsEngine, type EngineOptions } from './engine.ts';
export type { PlayIngestOutcome } from './play-admission.ts';
export type { MinuteJobReport } from './minute-job.ts';
export { qoeSummaryPeriod, type QoePoint, type QoeSummaryPeriod } from './qoe-reads.ts';
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
