// POST /api/webhook: play_started / play_closed events from media servers. Bad events are rejected one by
// one in a 200 answer, so the server does not resend a whole batch forever; the 200 comes after the commit.
import { validateWebhookBody, WebhookEventSchema } from '../../ingest/index.ts';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { readJsonBody } from '../read-json-body.ts';
import { requireApiKey } from '../require-api-key.ts';
import { errorResponses } from './openapi-shared.ts';

const postWebhook: RouteDef = {
  method: 'POST',
  path: '/api/webhook',
  async handler(event, ctx) {
    await requireApiKey(event, ctx, ['ingest'], { allowQueryKey: true });
    const body = await readJsonBody(event, ctx.config.maxBodyBytes);
    const parsed = validateWebhookBody(body, Date.now(), ctx.config.maxBatchSize);
    if (typeof parsed === 'string')
      throw new ApiError(parsed.startsWith('expected at most') ? 'PAYLOAD_TOO_LARGE' : 'INVALID_SCHEMA', parsed);
    const outcomes = await ctx.analytics.ingestPlayEvents(parsed.events, Date.now());
    let duplicates = 0;
    for (const o of outcomes) if (o === 'duplicate') duplicates++;
    return { accepted: outcomes.length - duplicates, duplicates, rejected: parsed.rejected };
  },
  openapi: {
    summary: 'Ingest play_started / play_closed events from a streaming server (Flussonic, Wowza style)',
    description:
      'One event or an array of them. Authenticated by an API key with ingest scope in X-API-Key or, for media servers that can only call a URL, in ?key= (never logged). Idempotent on (id, event); a play_closed without its play_started still yields one closed session. Events that fail validation are listed in `rejected` with their index and the reason, and the rest are stored: only a body that is not JSON, not an object or array, or too large is refused as a whole. A 200 means the accepted events are committed to disk.',
    security: [{ apiKey: [] }, { apiKeyQuery: [] }],
    parameters: [
      {
        name: 'key',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: 'API key, when X-API-Key cannot be sent',
      },
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            oneOf: [
              { $ref: '#/components/schemas/WebhookEvent' },
              { type: 'array', items: { $ref: '#/components/schemas/WebhookEvent' } },
            ],
          },
        },
      },
    },
    responses: {
      '200': {
        description: 'Accepted events are committed; duplicates were already stored; rejected ones name their problem',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['accepted', 'duplicates', 'rejected'],
              properties: {
                accepted: { type: 'integer' },
                duplicates: { type: 'integer' },
                rejected: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['index', 'error'],
                    properties: { index: { type: 'integer' }, error: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
      ...errorResponses(400, 401, 403, 413, 415, 429, 503),
    },
  },
};

export const webhookRoutes: RouteDef[] = [postWebhook];
export const webhookSchemas = { WebhookEvent: WebhookEventSchema };
