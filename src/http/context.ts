// What route modules may use: the parts they call, never each other.
import type { H3Event } from 'h3';
import type { Accounts, ApiKeyAuthenticator } from '../auth/index.ts';
import type { ResolvedConfig } from '../config/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import type { Store } from '../store/index.ts';
import type { LiveHub } from '../ws/index.ts';
import type { AnalyticsEngine } from '../engine/index.ts';
import type { VideoLibrary } from '../media/index.ts';
import type { RoomHub } from '../rooms/index.ts';
import type { AlertEvaluator, NotificationOutbox, SecretBox } from '../alerts/index.ts';
import type { AccessChanges } from './access-changes.ts';
import type { IngestBudget } from './ingest-budget.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';

export interface HttpContext {
  config: ResolvedConfig;
  store: Store;
  keys: ApiKeyAuthenticator;
  accounts: Accounts;
  limiter: TokenBucketLimiter;
  /** Request-body bytes the ingestion routes may hold at once (see ingest-budget.ts). */
  ingestBudget: IngestBudget;
  metrics: Metrics;
  logger: Logger;
  version: string;
  startedAt: number;
  /** The dashboard's live feed (WebSocket hub). */
  live: LiveHub;
  /** Live tracker, rollups and moments (webhook ingestion and the analytics read routes). */
  analytics: AnalyticsEngine;
  /** Video library: uploads, transcode queue, signed playback. */
  media: VideoLibrary;
  /** Watch-party rooms: the sync WebSocket and its loaded rooms. */
  rooms: RoomHub;
  /** Tell it when access was taken away: cached keys and open sockets are re-checked on every instance. */
  access: AccessChanges;
  /** Alerts: the key that seals channel settings, the delivery outbox, the rule evaluator. */
  alerts: { box: SecretBox; outbox: NotificationOutbox; evaluator: AlertEvaluator };
}

/** Per-request state kept on event.context. */
export interface RequestState {
  started: number;
  requestId: string;
  errorCode?: string;
}

export type OpenApiOperation = Record<string, unknown> & { summary: string; responses: Record<string, unknown> };

/** Marks a route that is not part of the API (the dashboard's pages and files): left out of /openapi.json, with why. */
export interface NotInApi {
  notInApi: string;
}

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  /** h3 pattern, e.g. /v1/sessions/:sessionId */
  path: string;
  handler: (event: H3Event, ctx: HttpContext) => unknown;
  openapi: OpenApiOperation | NotInApi;
}

export function requestState(event: H3Event): RequestState {
  return (event.context as { m3w?: RequestState }).m3w!;
}
