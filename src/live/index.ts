// Live viewers: the in-memory tracker of open play sessions.
// For the live feed: `engine.viewers.counts(appId)` (engine from src/engine) returns exactly the GET /stats/active
// shape of one app; `LiveTracker.countOf(appId, dimension, value)` one figure.
export { LiveTracker, type ActiveCounts } from './tracker.ts';
export { SharedViewerCounts, type ViewerCounts } from './shared-viewers.ts';
