// The SessionSummary schema and type: what the Media3Watch SDKs and the browser reporter (web/sdk/) send to
// POST /v1/sessions. A wire module, so the reporter can import its type; validating and
// normalising a summary is src/ingest/session-summary.ts's.
import Type from 'typebox';

export const MAX_CUSTOM_ENTRIES = 20;

const nullable = <T extends Type.TSchema>(schema: T, expected: string, description: string) =>
  Type.Optional(Type.Union([schema, Type.Null()], { 'x-expected': expected, description }));

const count = (description: string) =>
  nullable(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), 'an integer ≥ 0 or null', description);

const text = (max: number, description: string) =>
  nullable(Type.String({ maxLength: max }), `a string of at most ${max} characters, or null`, description);

const positiveInt = (description: string) =>
  Type.Integer({
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    'x-expected': 'an integer greater than 0',
    description,
  });

export const SessionSummarySchema = Type.Object(
  {
    sessionId: Type.String({
      minLength: 1,
      maxLength: 128,
      'x-expected': 'a non-blank string of 1 to 128 characters',
      description: 'Unique id of the playback session; re-sending it replaces the stored session if newer.',
    }),
    timestamp: positiveInt('When the summary was produced, epoch milliseconds (newer replaces older).'),
    sessionStartDateIso: Type.String({
      minLength: 1,
      maxLength: 64,
      'x-expected': 'an ISO-8601 date-time such as 2025-01-15T10:30:00.000Z',
      description: 'Session start, ISO-8601 (UTC when no zone is given).',
    }),
    sessionDurationMs: positiveInt('Session length in milliseconds.'),
    startupTimeMs: count('Time to first frame, ms.'),
    rebufferTimeMs: count('Total time spent rebuffering, ms.'),
    playTimeMs: count('Total time spent playing, ms.'),
    totalDroppedFrames: count('Dropped video frames.'),
    totalSeekTimeMs: count('Total time spent seeking, ms.'),
    rebufferCount: count('Number of rebuffering events.'),
    totalSeekCount: count('Number of seeks.'),
    errorCount: count('Number of playback errors.'),
    rebufferRatio: nullable(
      Type.Number({ minimum: 0, maximum: 1 }),
      'a number from 0 to 1, or null',
      'Rebuffer time / (play time + rebuffer time).',
    ),
    meanVideoFormatBitrate: count('Mean bitrate of the video formats played, bits per second.'),
    contentId: text(256, 'Your id for the content played.'),
    contentTitle: text(1024, 'Human-readable title of the content.'),
    streamType: nullable(
      Type.Union([Type.Literal('vod'), Type.Literal('live')]),
      '"vod", "live" or null',
      'Kind of stream.',
    ),
    playerName: text(128, 'Player library, e.g. media3.'),
    playerVersion: text(64, 'Player library version.'),
    appVersion: text(64, 'Version of the app that played.'),
    deviceModel: text(128, 'Device model.'),
    os: text(64, 'Operating system.'),
    osVersion: text(64, 'Operating system version.'),
    country: nullable(
      Type.String({ minLength: 2, maxLength: 2 }),
      'an ISO 3166-1 alpha-2 country code such as "US", or null',
      'Viewer country, ISO 3166-1 alpha-2 (any case; stored upper-case).',
    ),
    cdn: text(128, 'CDN that served the media.'),
    errorCode: text(128, 'Last or main playback error code.'),
    custom: nullable(
      Type.Record(
        Type.String({ minLength: 1, maxLength: 64 }),
        Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean()]),
        { maxProperties: MAX_CUSTOM_ENTRIES },
      ),
      'an object of at most 20 entries (keys up to 64 characters) whose values are strings (up to 256 characters), numbers or booleans, or null',
      'Your own dimensions.',
    ),
  },
  {
    additionalProperties: true,
    description: 'A playback session summary. Unknown fields are kept in the stored payload.',
  },
);

/** A validated summary as sent; absent optional fields are undefined and mean null. */
export type SessionSummary = Type.Static<typeof SessionSummarySchema>;
