// HTTP: the h3 app, its middleware and route modules, and the Node server around them.
export { createHttpApp, type HttpApp } from './app.ts';
export { ApiError, type ErrorCode } from './errors.ts';
export { TokenBucketLimiter } from './rate-limit.ts';
export { IngestBudget, INGEST_BUDGET_BYTES } from './ingest-budget.ts';
export { accessChanges, type AccessChanges } from './access-changes.ts';
export type { HttpContext, RouteDef } from './context.ts';
