// Live viewers: the in-memory tracker of open play sessions.
// For the live feed: `engine.live.counts(appId)` (engine from src/engine) returns exactly the GET /stats/active
// shape of one app; `LiveTracker.countOf(appId, dimension, value)` one figure.
export { LiveTracker, type ActiveCounts } from './tracker.ts';
