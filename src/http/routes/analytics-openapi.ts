// OpenAPI pieces the analytics read routes share: who may call them, their errors, and the JSON answer wrapper.
import { errorResponses } from './openapi-shared.ts';

/** A read-scoped API key, or a signed-in user (bearer token or the dashboard's cookie). */
export const READ_SECURITY = [{ apiKey: [] }, { bearer: [] }, { cookie: [] }];
export const READ_ERRORS = errorResponses(400, 401, 403, 404, 429, 503);

export const json = (schema: Record<string, unknown>, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});

export const countMap = { type: 'object', additionalProperties: { type: 'integer' } };

export const FIGURE_PROPERTIES = {
  sessions_started: { type: 'integer' },
  sessions_closed: { type: 'integer' },
  total_bytes: { type: 'integer' },
  bandwidth_bps: { type: 'number', description: 'total_bytes * 8 / step seconds' },
  watch_time_seconds: { type: 'number' },
  unique_users: { type: 'integer' },
  peak_concurrent: { type: 'integer' },
};
export const STREAM_POINT = {
  type: 'object',
  required: ['t', ...Object.keys(FIGURE_PROPERTIES)],
  properties: { t: { type: 'integer' }, ...FIGURE_PROPERTIES },
};

/** A watch-party room's bucket (stream room:<id>): the chat half of the stream metrics. */
export const ROOM_POINT = {
  type: 'object',
  required: [
    't',
    'viewers',
    'peak_concurrent',
    'chat_messages',
    'chat_rate',
    'unique_chatters',
    'top_emotes',
    'sentiment',
  ],
  properties: {
    t: { type: 'integer' },
    viewers: { type: 'integer', description: 'members connected, most at once in the bucket' },
    peak_concurrent: { type: 'integer', description: 'the same as viewers' },
    chat_messages: { type: 'integer' },
    chat_rate: { type: 'number', description: 'chat messages per minute' },
    unique_chatters: { type: 'integer', description: 'per minute; an hour shows its busiest minute' },
    top_emotes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['emote', 'count'],
        properties: { emote: { type: 'string' }, count: { type: 'integer' } },
      },
    },
    sentiment: { type: ['number', 'null'] },
  },
};

/** A stored moment as the moment routes answer it. */
export const MOMENT_SCHEMA = {
  type: 'object',
  required: [
    'id',
    'kind',
    'metric',
    'dimension',
    'value',
    'startedAt',
    'endedAt',
    'peakValue',
    'baseline',
    'zScore',
    'threshold',
  ],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['spike', 'drop'] },
    metric: { type: 'string' },
    dimension: { type: 'string' },
    value: { type: 'string' },
    startedAt: { type: 'integer' },
    endedAt: { type: 'integer' },
    peakValue: { type: 'number' },
    baseline: { type: 'number' },
    zScore: { type: 'number' },
    threshold: { type: 'number' },
    appId: { type: ['string', 'null'] },
  },
};
