// POST /api/webhook: play_started / play_closed events from media servers, stored for the app of the key
// that sent them. Bad events, and play_started beyond the open-plays caps, are rejected one by one in a 200
// answer, so the server does not resend a whole batch forever; the 200 comes after the commit. A request whose
// events would pass the app's events-per-minute budget is refused as a whole (429 with Retry-After).
import Type from 'typebox';
import { validateWebhookBody, WebhookEventSchema } from '../../ingest/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { withIngestBudget } from '../ingest-budget.ts';
import { parseJsonText, readJsonText } from '../read-json-body.ts';
import { requireApiKey } from '../require-api-key.ts';
import { queryParametersOf } from '../read-validated-query.ts';
import { WebhookAnswer, WebhookBody } from '../../wire/sessions.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';

/** Per-app event budgets: a token bucket of webhookEventsPerMinute that refills over a minute. */
/** Media servers that can only call a URL send their key as ?key= (require-api-key.ts reads it; never logged). */
const KeyQuery = Type.Object({
  key: Type.Optional(Type.String({ description: 'API key, when X-API-Key cannot be sent' })),
});

const budgets = new WeakMap<HttpContext, Map<string, { tokens: number; at: number }>>();

/** Takes `events` from the app's budget; 429 (nothing stored) when it does not hold that many. */
function takeEventBudget(ctx: HttpContext, appId: string, events: number): void {
  if (events === 0) return;
  const perMinute = ctx.config.webhookEventsPerMinute;
  let byApp = budgets.get(ctx);
  if (!byApp) budgets.set(ctx, (byApp = new Map()));
  const now = Date.now();
  const b = byApp.get(appId) ?? { tokens: perMinute, at: now };
  b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) * perMinute) / 60_000);
  b.at = now;
  byApp.set(appId, b);
  if (b.tokens < events) {
    const retryAfterSec = Math.max(1, Math.ceil(((events - b.tokens) * 60) / perMinute));
    ctx.metrics.playEventsRejected.inc({ reason: 'events_per_minute' }, events);
    throw new ApiError(
      'RATE_LIMIT_EXCEEDED',
      `webhook limit of ${perMinute} events per minute for app ${JSON.stringify(appId)} exceeded: this request has ${events} events; retry in ${retryAfterSec} s`,
      undefined,
      { 'retry-after': String(retryAfterSec) },
    );
  }
  b.tokens -= events;
}

const postWebhook: RouteDef = {
  method: 'POST',
  path: '/api/webhook',
  async handler(event, ctx) {
    const key = await requireApiKey(event, ctx, ['ingest'], { allowQueryKey: true });
    const text = await readJsonText(event, ctx.config.maxBodyBytes);
    const { parsed, outcomes } = await withIngestBudget(ctx.ingestBudget, text.length, async () => {
      const parsed = validateWebhookBody(parseJsonText(text), Date.now(), ctx.config.maxBatchSize);
      if (typeof parsed === 'string')
        throw new ApiError(parsed.startsWith('expected at most') ? 'PAYLOAD_TOO_LARGE' : 'INVALID_SCHEMA', parsed);
      if (parsed.rejected.length > 0) ctx.metrics.playEventsRejected.inc({ reason: 'invalid' }, parsed.rejected.length);
      takeEventBudget(ctx, key.appId, parsed.events.length);
      return { parsed, outcomes: await ctx.analytics.ingestPlayEvents(key.appId, parsed.events, Date.now()) };
    });
    let duplicates = 0;
    let accepted = 0;
    const rejected = [...parsed.rejected];
    outcomes.forEach((o, i) => {
      if (o === 'duplicate') duplicates++;
      else if (typeof o === 'object') {
        rejected.push({ index: parsed.indexes[i]!, error: o.error });
        ctx.metrics.playEventsRejected.inc({ reason: o.rejected });
      } else accepted++;
    });
    rejected.sort((a, b) => a.index - b.index);
    return { accepted, duplicates, rejected } satisfies WebhookAnswer;
  },
  openapi: {
    summary: 'Ingest play_started / play_closed events from a streaming server (Flussonic, Wowza style)',
    description:
      "One event or an array of them, stored for the app of the key. Authenticated by an API key with ingest scope in X-API-Key or, for media servers that can only call a URL, in ?key= (never logged). Idempotent on (app, id, event): the same play id sent with another app's key is another app's session, never this one. A play_closed without its play_started still yields one closed session. Events that fail validation, and play_started events beyond the open-plays caps (liveMaxOpenPlays, liveMaxOpenPlaysPerApp), are listed in `rejected` with their index and the reason, and the rest are stored: only a body that is not JSON, not an object or array, or too large is refused as a whole, and so is a request whose events would pass the app's webhookEventsPerMinute (429 with Retry-After). A 200 means the accepted events are committed to disk.",
    security: [{ apiKey: [] }, { apiKeyQuery: [] }],
    parameters: queryParametersOf(KeyQuery),
    requestBody: { required: true, content: json(WebhookBody) },
    responses: {
      '200': {
        description: 'Accepted events are committed; duplicates were already stored; rejected ones name their problem',
        content: json(WebhookAnswer),
      },
      ...errorResponses(400, 401, 403, 413, 415, 429, 503),
    },
  },
};

export const webhookRoutes: RouteDef[] = [postWebhook];
export const webhookSchemas = { WebhookEvent: WebhookEventSchema };
