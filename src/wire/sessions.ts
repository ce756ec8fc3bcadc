// Wire formats of sessions: the answers of POST /v1/sessions and GET /v1/sessions/{id} (the SDK's side), the
// sessions page's filters, list and detail (GET /api/v1/sessions…), and the answer of POST /api/webhook. The
// SessionSummary and WebhookEvent bodies themselves are the ingest part's schemas (src/ingest/); these refer to
// them by their component name, as wire modules import nothing but TypeBox.
import Type from 'typebox';
import { epochMs } from './fields.ts';

/** The SessionSummary component (src/ingest/session-summary.ts), by reference. */
const SessionSummaryRef = Type.Unsafe<Record<string, unknown>>({ $ref: '#/components/schemas/SessionSummary' });
/** The WebhookEvent component (src/ingest/webhook-event.ts), by reference. */
const WebhookEventRef = Type.Unsafe<Record<string, unknown>>({ $ref: '#/components/schemas/WebhookEvent' });

/** POST /v1/sessions: one SessionSummary, or a batch of them. */
export const SessionIngestBody = Type.Union([
  SessionSummaryRef,
  Type.Array(SessionSummaryRef, { minItems: 1, maxItems: 1000 }),
]);

/** POST /v1/sessions's answer: the sessionId of a single session, or how many a batch held. */
export const SessionAccepted = Type.Union(
  [
    Type.Object({ status: Type.Literal('success'), sessionId: Type.String() }),
    Type.Object({ status: Type.Literal('success'), accepted: Type.Integer() }),
  ],
  { $id: 'SessionAccepted' },
);
export type SessionAccepted = Type.Static<typeof SessionAccepted>;

/** GET /v1/sessions/{sessionId}: the session as sent, plus when it was last written. */
export const StoredSession = Type.Intersect(
  [SessionSummaryRef, Type.Object({ receivedAt: epochMs('When the last accepted write arrived') })],
  { $id: 'StoredSession' },
);

const SESSION_ID = { minLength: 1, maxLength: 128 };
export const SESSION_ID_LENGTH = { min: SESSION_ID.minLength, max: SESSION_ID.maxLength };

const MAX_EPOCH_MS = 8_640_000_000_000_000;
const epochParam = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, description });

/** The sessions page's filters (GET /api/v1/sessions and its CSV): each optional. */
export const SessionFilters = Type.Object({
  app: Type.Optional(
    Type.String({ maxLength: 64, description: 'App id; may be omitted when the caller sees exactly one app' }),
  ),
  from: Type.Optional(epochParam('Session timestamp ≥ from (epoch ms)')),
  to: Type.Optional(epochParam('Session timestamp < to (epoch ms); after from')),
  contentId: Type.Optional(Type.String({ maxLength: 256 })),
  content: Type.Optional(
    Type.String({ maxLength: 256, description: "Part of the content's title or id, case-insensitive" }),
  ),
  errorsOnly: Type.Optional(Type.Boolean({ description: 'Only sessions with errors (true or false)' })),
  device: Type.Optional(Type.String({ maxLength: 128, description: 'Part of the device model, case-insensitive' })),
  q: Type.Optional(Type.String({ maxLength: 128, description: 'Start of a sessionId' })),
});

/** GET /api/v1/sessions: the filters and a page. */
export const SessionListParams = Type.Object({
  ...SessionFilters.properties,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});

const orNull = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One session in the list: the fields the sessions page shows and the CSV export has. */
export const SessionRow = Type.Object(
  {
    sessionId: Type.String(),
    timestamp: epochMs("The session's timestamp"),
    receivedAt: epochMs('When the last accepted write arrived'),
    sessionDurationMs: Type.Integer(),
    contentId: orNull(Type.String()),
    contentTitle: orNull(Type.String()),
    streamType: orNull(Type.String()),
    playerName: orNull(Type.String()),
    appVersion: orNull(Type.String()),
    deviceModel: orNull(Type.String()),
    os: orNull(Type.String()),
    osVersion: orNull(Type.String()),
    country: orNull(Type.String()),
    cdn: orNull(Type.String()),
    startupTimeMs: orNull(Type.Number()),
    rebufferTimeMs: orNull(Type.Number()),
    rebufferRatio: orNull(Type.Number()),
    playTimeMs: orNull(Type.Number()),
    totalDroppedFrames: orNull(Type.Number()),
    meanVideoFormatBitrate: orNull(Type.Number()),
    errorCount: orNull(Type.Number()),
    errorCode: orNull(Type.String()),
  },
  { $id: 'SessionRow' },
);
export type SessionRow = Type.Static<typeof SessionRow>;

export const SessionPage = Type.Object(
  {
    app: Type.String(),
    sessions: Type.Array(SessionRow),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page' }),
  },
  { $id: 'SessionPage' },
);
export type SessionPage = Type.Static<typeof SessionPage>;

/** GET /api/v1/sessions/{sessionId}: the stored fields and the payload as the SDK sent it. */
export const SessionDetail = Type.Object(
  {
    app: Type.String(),
    sessionId: Type.String(),
    timestamp: epochMs("The session's timestamp"),
    receivedAt: epochMs('When the last accepted write arrived'),
    payload: SessionSummaryRef,
  },
  { $id: 'SessionDetail' },
);
export type SessionDetail = Type.Static<typeof SessionDetail>;

/** POST /api/webhook: one event or a batch. */
export const WebhookBody = Type.Union([WebhookEventRef, Type.Array(WebhookEventRef)]);

/** POST /api/webhook's answer: stored, already stored, and refused events (by index, with why). */
export const WebhookAnswer = Type.Object(
  {
    accepted: Type.Integer(),
    duplicates: Type.Integer(),
    rejected: Type.Array(Type.Object({ index: Type.Integer(), error: Type.String() })),
  },
  { $id: 'WebhookAnswer' },
);
export type WebhookAnswer = Type.Static<typeof WebhookAnswer>;
