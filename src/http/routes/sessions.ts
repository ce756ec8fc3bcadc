// POST /v1/sessions (one SessionSummary or a batch) and GET /v1/sessions/:sessionId.
import { SessionSummarySchema, validateSessionBody, type FieldIssue } from '../../ingest/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import type { HttpExchange } from '../exchange.ts';
import { allowKeyOrigin, allowOwnOrigin, sessionsPreflight } from '../cors.ts';
import { ApiError } from '../errors.ts';
import { withIngestBudget } from '../ingest-budget.ts';
import { parseJsonText, readJsonText } from '../read-json-body.ts';
import { requireApiKey } from '../require-api-key.ts';
import {
  checkPlaybackSessions,
  hasPlaybackCredential,
  requirePlaybackCredential,
} from '../require-playback-credential.ts';
import { SessionAccepted, SessionIngestBody, StoredSession } from '../../wire/sessions.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';
import { pathParameters, PathParams, sessionIdOf } from './route-params.ts';

function describeIssues(issues: FieldIssue[]): string {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.index === undefined ? '' : `[${i.index}].`}${i.field}: ${i.message}`);
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : '';
  return shown.join('; ') + more;
}

/**
 * POST /v1/sessions itself: authorise, read, validate and commit. The h3 route and the node:http fast path
 * (sessions-fast-path.ts, which serves this route without h3's web Request layer) both run exactly this.
 */
export async function ingestSessions(event: HttpExchange, ctx: HttpContext): Promise<SessionAccepted> {
  // The built-in player sends a playback credential (its video only) instead of an ingest key.
  const playback = hasPlaybackCredential(event) ? await requirePlaybackCredential(event, ctx) : null;
  let appId: string;
  if (playback) {
    allowOwnOrigin(event, ctx);
    appId = playback.appId;
  } else {
    const key = await requireApiKey(event, ctx, ['ingest']);
    allowKeyOrigin(event, key); // browsers on other sites: only from the origins the key allows
    appId = key.appId;
  }
  const text = await readJsonText(event, ctx.config.maxBodyBytes);
  const result = await withIngestBudget(ctx.ingestBudget, text.length, async () => {
    const valid = validateSessionBody(parseJsonText(text), ctx.config.maxBatchSize, text);
    if (!valid.ok) throw new ApiError('INVALID_SCHEMA', describeIssues(valid.issues), valid.issues);
    if (playback) checkPlaybackSessions(playback, valid.sessions);
    await ctx.store.upsertSessions(appId, valid.sessions, Date.now());
    return valid;
  });
  ctx.metrics.sessionsIngested.inc(result.sessions.length);
  const answer: SessionAccepted = result.batch
    ? { status: 'success', accepted: result.sessions.length }
    : { status: 'success', sessionId: result.sessions[0]!.summary.sessionId };
  return answer;
}

const postSessions: RouteDef = {
  method: 'POST',
  path: '/v1/sessions',
  handler: (event, ctx) => ingestSessions(event, ctx),
  openapi: {
    summary: 'Ingest one playback session summary, or a batch of up to 1000',
    description:
      "Idempotent on sessionId per app: a repeat replaces the stored session when its timestamp is greater than or equal to the stored one; an older one is acknowledged and ignored. A 200 means the data is committed to disk. A batch is validated as a whole: one bad item rejects all, and the error lists each bad item. Content-Encoding: gzip is accepted; the limit (1 MiB by default) applies after decompression. The built-in player authenticates with the playback credential of POST /api/v1/videos/{id}/playback (Authorization: Bearer m3wp.…) instead of a key: into that video's app only, and only sessions whose contentId is the video id (403 otherwise). Browser pages on other sites may call it (CORS) only from the origins their key allows (allowedOrigins); another Origin is a 403 FORBIDDEN naming it. Requests without an Origin header are not affected.",
    security: [{ apiKey: [] }, { bearer: [] }],
    requestBody: { required: true, content: json(SessionIngestBody) },
    responses: {
      '200': { description: 'Committed', content: json(SessionAccepted) },
      ...errorResponses(400, 401, 403, 413, 415, 429, 503),
    },
  },
};

const getSession: RouteDef = {
  method: 'GET',
  path: '/v1/sessions/:sessionId',
  async handler(event, ctx) {
    const key = await requireApiKey(event, ctx, ['ingest', 'read']);
    const sessionId = sessionIdOf(event);
    const stored = await ctx.store.getSession(key.appId, sessionId);
    if (!stored) throw new ApiError('NOT_FOUND', `no session ${JSON.stringify(sessionId)} in this app`);
    return { ...(JSON.parse(stored.payload) as Record<string, unknown>), receivedAt: stored.receivedAt };
  },
  openapi: {
    summary: "Read back a stored session of the key's app (to check that an SDK integration works)",
    security: [{ apiKey: [] }],
    parameters: pathParameters({ sessionId: PathParams.sessionId }),
    responses: {
      '200': {
        description: 'The session as sent, plus receivedAt (epoch ms of the last accepted write)',
        content: json(StoredSession),
      },
      ...errorResponses(400, 401, 403, 404, 429, 503),
    },
  },
};

export const sessionRoutes: RouteDef[] = [postSessions, getSession, sessionsPreflight];
export const sessionSchemas = { SessionSummary: SessionSummarySchema };
