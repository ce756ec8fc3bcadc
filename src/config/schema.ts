// The shape of m3w's configuration: one TypeBox schema that is both the validator and the type.
// Defaults live here; m3w.config.json documents the same values (a test keeps them equal).
import Type from 'typebox';

const int = (minimum: number, maximum: number, unit = '') =>
  Type.Integer({ minimum, maximum, 'x-expected': `an integer from ${minimum} to ${maximum}${unit}` });
const bool = () => Type.Boolean({ 'x-expected': 'true or false' });
const expect = <T extends Type.TSchema>(schema: T, expected: string): T =>
  Object.assign(schema, { 'x-expected': expected });
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, 'x-expected': 'a host name or address' }),
    port: int(0, 65535),
    dataDir: Type.String({ minLength: 1, 'x-expected': 'a directory path' }),
    databaseUrl: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      'x-expected': 'a SQLite file path or sqlite: URL, a postgres:// URL, or null for <dataDir>/m3w.db',
    }),
    // Postgres: used when databaseUrl is a postgres:// or postgresql:// URL.
    postgres: Type.Object(
      {
        schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', 'x-expected': 'a lower-case SQL identifier' }),
        poolSize: int(1, 1000, ' (connections)'),
      },
      { additionalProperties: false, 'x-expected': 'an object {"schema": "public", "poolSize": n}' },
    ),
    durability: expect(Type.Union([Type.Literal('full'), Type.Literal('normal')]), '"full" or "normal"'),
    apiKey: Type.Union([Type.String({ pattern: '^[\\x21-\\x7e]{8,256}$' }), Type.Null()], {
      'x-expected': 'a key of 8 to 256 visible ASCII characters, or null',
    }),
    rateLimit: Type.Object(
      { requests: int(1, 1_000_000_000), windowSec: int(1, 86_400, ' (seconds)') },
      { additionalProperties: false, 'x-expected': 'an object {"requests": n, "windowSec": n}' },
    ),
    retentionDays: int(1, 36_500, ' (days)'),
    logLevel: expect(
      Type.Union([
        Type.Literal('fatal'),
        Type.Literal('error'),
        Type.Literal('warn'),
        Type.Literal('info'),
        Type.Literal('debug'),
        Type.Literal('trace'),
        Type.Literal('silent'),
      ]),
      'one of fatal, error, warn, info, debug, trace, silent',
    ),
    enableMetrics: bool(),
    trustProxy: bool(),
    maxBodyBytes: int(1024, 64 * 1024 * 1024, ' (bytes)'),
    maxBatchSize: int(1, 10_000),
    // Analytics engine
    sessionSyncIntervalSeconds: int(1, 3600, ' (seconds)'),
    staleSessionHours: int(1, 720, ' (hours)'),
    // Bounds on what webhooks can make the live tracker hold: open plays in all and per app, and events per
    // minute per app (apart from the request rate limit: one request may carry maxBatchSize events).
    liveMaxOpenPlays: int(1, 100_000_000, ' (open play sessions)'),
    liveMaxOpenPlaysPerApp: int(1, 100_000_000, ' (open play sessions)'),
    webhookEventsPerMinute: int(1, 1_000_000_000, ' (events per minute per app)'),
    minuteRollupDays: int(1, 3650, ' (days)'),
    hourlyRollupDays: int(1, 36_500, ' (days)'),
    moments: Type.Object(
      {
        baselineMinutes: int(5, 1440, ' (minutes)'),
        zThreshold: Type.Number({ minimum: 1, maximum: 100, 'x-expected': 'a number from 1 to 100' }),
        minVolume: int(1, 1_000_000, ' (sessions per minute)'),
      },
      {
        additionalProperties: false,
        'x-expected': 'an object {"baselineMinutes": n, "zThreshold": n, "minVolume": n}',
      },
    ),
    // Alert notifications: retry delays after each failed attempt (then given up), per-attempt timeout, how
    // many are sent at once, and how much of a receiver's answer is read.
    notifications: Type.Object(
      {
        retrySeconds: Type.Array(Type.Integer({ minimum: 1, maximum: 86_400 }), {
          minItems: 0,
          maxItems: 10,
          'x-expected': 'a list of up to 10 delays in seconds, e.g. [60, 300, 1800]',
        }),
        timeoutSeconds: int(1, 120, ' (seconds)'),
        maxInFlight: int(1, 64),
        maxResponseBytes: int(1024, 16 * 1024 * 1024, ' (bytes)'),
      },
      {
        additionalProperties: false,
        'x-expected': 'an object {"retrySeconds": [n…], "timeoutSeconds": n, "maxInFlight": n, "maxResponseBytes": n}',
      },
    ),
    // Dashboard live feed
    liveIntervalMs: int(250, 60_000, ' (milliseconds)'),
    // Accounts
    keyRotationGraceHours: int(0, 720, ' (hours)'),
    openBrowser: bool(),
    // Where clients reach this server (behind a proxy or a domain name); shown in ingest URLs instead of guesses.
    publicUrl: Type.Union(
      [Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$', maxLength: 2048 }), Type.Null()],
      {
        'x-expected': 'an http:// or https:// URL such as https://m3w.example.com, or null',
      },
    ),
    // Video library (src/media)
    ffmpegPath: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      'x-expected': 'the path of an ffmpeg executable, "none" to turn video off, or null to look for one',
    }),
    maxUploadBytes: int(1024, 2 ** 50, ' (bytes)'),
    minFreeDiskBytes: int(0, 2 ** 50, ' (bytes)'),
    maxDurationHours: int(1, 48, ' (hours)'),
    playbackUrlTtlSeconds: int(60, 7 * 86_400, ' (seconds)'),
    transcode: Type.Object(
      {
        encoder: Type.String({
          pattern: '^(auto|libx264|h264_[a-z0-9_]+)$',
          'x-expected': '"auto", "libx264" or h264_*',
        }),
        preset: expect(
          Type.Union([
            Type.Literal('ultrafast'),
            Type.Literal('superfast'),
            Type.Literal('veryfast'),
            Type.Literal('faster'),
            Type.Literal('fast'),
            Type.Literal('medium'),
            Type.Literal('slow'),
            Type.Literal('slower'),
            Type.Literal('veryslow'),
          ]),
          'an x264 preset (ultrafast … veryslow)',
        ),
        concurrency: int(1, 16),
        stallSeconds: int(2, 3600, ' (seconds)'),
      },
      {
        additionalProperties: false,
        'x-expected': 'an object {"encoder", "preset", "concurrency", "stallSeconds"}',
      },
    ),
  },
  { additionalProperties: false },
);

export type Config = Type.Static<typeof ConfigSchema>;

export const DEFAULT_CONFIG: Config = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './m3w-data',
  databaseUrl: null,
  durability: 'full',
  postgres: { schema: 'public', poolSize: 10 },
  apiKey: null,
  rateLimit: { requests: 600, windowSec: 60 },
  retentionDays: 90,
  logLevel: 'info',
  enableMetrics: true,
  trustProxy: false,
  maxBodyBytes: 1_048_576,
  maxBatchSize: 1000,
  sessionSyncIntervalSeconds: 30,
  staleSessionHours: 12,
  liveMaxOpenPlays: 1_000_000,
  liveMaxOpenPlaysPerApp: 250_000,
  webhookEventsPerMinute: 120_000,
  minuteRollupDays: 14,
  hourlyRollupDays: 1095,
  moments: { baselineMinutes: 30, zThreshold: 3, minVolume: 20 },
  notifications: { retrySeconds: [60, 300, 1800], timeoutSeconds: 10, maxInFlight: 4, maxResponseBytes: 65_536 },
  liveIntervalMs: 1500,
  keyRotationGraceHours: 24,
  openBrowser: true,
  publicUrl: null,
  ffmpegPath: null,
  maxUploadBytes: 8 * 1024 ** 3,
  minFreeDiskBytes: 1024 ** 3,
  maxDurationHours: 12,
  playbackUrlTtlSeconds: 7200,
  transcode: { encoder: 'auto', preset: 'veryfast', concurrency: 1, stallSeconds: 120 },
};
