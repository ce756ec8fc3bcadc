// Live viewers: the in-memory tracker of open play sessions.
// For the live feed: `engine.live.counts()` (engine from src/engine) returns exactly the GET /stats/active
// shape; `LiveTracker.countOf(dimension, value)` one figure.
export { LiveTracker, type ActiveCounts } from './tracker.ts';
