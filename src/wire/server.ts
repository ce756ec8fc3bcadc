// Wire formats of the operational answers: health (short and detailed) and where the server can be reached.
import Type from 'typebox';

export const Health = Type.Object({ status: Type.Enum(['healthy', 'unhealthy']) }, { $id: 'Health' });
export type Health = Type.Static<typeof Health>;

export const HealthDetails = Type.Object(
  {
    status: Type.Enum(['healthy', 'unhealthy']),
    version: Type.String(),
    uptimeSec: Type.Integer(),
    database: Type.Object({
      kind: Type.String({ description: 'sqlite or postgres' }),
      status: Type.Enum(['ok', 'error']),
      error: Type.Optional(Type.String()),
    }),
    disk: Type.Object({
      path: Type.String({ description: 'the data directory' }),
      freeBytes: Type.Union([Type.Integer(), Type.Null()]),
      totalBytes: Type.Union([Type.Integer(), Type.Null()]),
    }),
    ffmpeg: Type.Optional(
      Type.Object(
        {
          available: Type.Boolean(),
          path: Type.Optional(Type.String()),
          source: Type.Optional(Type.String()),
          version: Type.Optional(Type.String()),
          ffprobe: Type.Optional(Type.String()),
          encoder: Type.Optional(Type.String()),
          workingEncoders: Type.Optional(Type.Array(Type.String())),
          brokenEncoders: Type.Optional(Type.Array(Type.String())),
          hint: Type.Optional(Type.String()),
        },
        { description: 'which ffmpeg is used, its version and the H.264 encoders that passed a test encode' },
      ),
    ),
  },
  { $id: 'HealthDetails' },
);
export type HealthDetails = Type.Static<typeof HealthDetails>;

export const ServerInfo = Type.Object(
  {
    version: Type.String(),
    port: Type.Integer(),
    urls: Type.Array(Type.String(), { description: 'the address the browser used, then every LAN address' }),
    ingestUrl: Type.String({ description: 'POST sessions here, from another machine' }),
    webhookUrl: Type.String({ description: 'point media servers here' }),
  },
  { $id: 'ServerInfo' },
);
export type ServerInfo = Type.Static<typeof ServerInfo>;

/** GET /ws/live/health: the live feed's open connections and subscribers per topic kind. */
export const LiveFeedHealth = Type.Object(
  {
    connections: Type.Integer(),
    legacyConnections: Type.Integer({ description: 'clients of /ws/live/{streamId}' }),
    topics: Type.Record(Type.String(), Type.Integer(), { description: 'subscribers per topic kind' }),
  },
  { $id: 'LiveFeedHealth' },
);
export type LiveFeedHealth = Type.Static<typeof LiveFeedHealth>;
