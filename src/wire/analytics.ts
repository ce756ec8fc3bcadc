// Wire formats of the analytics answers: live viewers, the channel list, stream figures per minute or hour, QoE
// series and breakdowns, and moments. The routes' OpenAPI entries are generated from these schemas, the
// handlers' answers are checked against them (`satisfies`), and the dashboard imports their types.
import Type from 'typebox';
import { epochMs } from './fields.ts';

const countMap = (what: string) =>
  Type.Record(Type.String(), Type.Integer(), { description: `open play sessions per ${what}` });

/** GET /stats/active: one app's play sessions open right now, in total and per value of each dimension. */
export const ActiveCounts = Type.Object(
  {
    total: Type.Integer(),
    by_server: countMap('server'),
    by_channel: countMap('channel'),
    by_country: countMap('country'),
    by_protocol: countMap('protocol'),
    by_device: countMap('device class'),
  },
  { $id: 'ActiveCounts' },
);
export type ActiveCounts = Type.Static<typeof ActiveCounts>;

/** The stream figures of one bucket (a minute or an hour) of play sessions. */
export const StreamFigures = Type.Object(
  {
    sessions_started: Type.Integer(),
    sessions_closed: Type.Integer(),
    total_bytes: Type.Integer(),
    bandwidth_bps: Type.Number({ description: 'total_bytes * 8 / step seconds' }),
    watch_time_seconds: Type.Number(),
    unique_users: Type.Integer(),
    peak_concurrent: Type.Integer(),
  },
  { $id: 'StreamFigures' },
);
export type StreamFigures = Type.Static<typeof StreamFigures>;

/** One bucket of a stream series: its start and its figures. */
export const StreamPoint = Type.Intersect([Type.Object({ t: epochMs('Start of the bucket') }), StreamFigures], {
  $id: 'StreamPoint',
});
export type StreamPoint = Type.Static<typeof StreamPoint>;

/** GET /api/v1/streams */
export const StreamList = Type.Object(
  {
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
    minute: epochMs('Start of the minute last_minute describes'),
    streams: Type.Array(Type.Object({ channel: Type.String(), viewers: Type.Integer(), last_minute: StreamFigures })),
  },
  { $id: 'StreamList' },
);
export type StreamList = Type.Static<typeof StreamList>;

const step = Type.Integer({ enum: [60, 3600], description: 'Bucket length in seconds' });

/** A watch-party room's bucket (stream room:<id>): the chat half of the stream metrics. */
export const RoomPoint = Type.Object(
  {
    t: epochMs('Start of the bucket'),
    viewers: Type.Integer({ description: 'members connected, most at once in the bucket' }),
    peak_concurrent: Type.Integer({ description: 'the same as viewers' }),
    chat_messages: Type.Integer(),
    chat_rate: Type.Number({ description: 'chat messages per minute' }),
    unique_chatters: Type.Integer({ description: 'per minute; an hour shows its busiest minute' }),
    top_emotes: Type.Array(Type.Object({ emote: Type.String(), count: Type.Integer() })),
    sentiment: Type.Union([Type.Number(), Type.Null()], {
      description: 'mean AFINN score; null without scored messages',
    }),
  },
  { $id: 'RoomPoint' },
);
export type RoomPoint = Type.Static<typeof RoomPoint>;

/** GET /api/v1/streams/{channel}/metrics: a channel's stream points, or a room's (channel room:<id>). */
export const ChannelSeries = Type.Object(
  { channel: Type.String(), step, points: Type.Union([Type.Array(StreamPoint), Type.Array(RoomPoint)]) },
  { $id: 'ChannelSeries' },
);
export type ChannelSeries = Type.Static<typeof ChannelSeries>;

/** GET /api/v1/stats/series */
export const StreamSeries = Type.Object(
  {
    dimension: Type.String(),
    value: Type.String({ description: 'empty for the global dimension' }),
    step,
    points: Type.Array(StreamPoint),
  },
  { $id: 'StreamSeries' },
);
export type StreamSeries = Type.Static<typeof StreamSeries>;

/** The QoE metrics, as the engine computes them (a type test in analytics-qoe.ts keeps the two lists equal). */
export const QOE_METRIC_NAMES = [
  'sessions',
  'playback_failure_pct',
  'rebuffer_pct',
  'startup_mean_ms',
  'startup_p50_ms',
  'startup_p95_ms',
  'startup_p99_ms',
  'bitrate_mean_bps',
  'dropped_frames',
] as const;
export type QoeMetricName = (typeof QOE_METRIC_NAMES)[number];

const figureOrNull = Type.Union([Type.Number(), Type.Null()], { description: 'null when no session tells' });

/** One bucket of a QoE series: null when no session of the bucket tells (sessions is 0 then). */
export const QoePoint = Type.Object({ t: epochMs('Start of the bucket'), value: figureOrNull }, { $id: 'QoePoint' });
export type QoePoint = Type.Static<typeof QoePoint>;

/** GET /api/v1/qoe/timeseries */
export const QoeSeries = Type.Object(
  {
    app: Type.String(),
    metric: Type.String(),
    step,
    filter: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'the one filter[dimension]=value given' }),
    ),
    points: Type.Array(QoePoint),
  },
  { $id: 'QoeSeries' },
);
export type QoeSeries = Type.Static<typeof QoeSeries>;

/** Every QoE metric of one value of a dimension. */
export const QoeBreakdownRow = Type.Object(
  {
    value: Type.String(),
    ...(Object.fromEntries(QOE_METRIC_NAMES.map((m) => [m, figureOrNull])) as Record<
      QoeMetricName,
      typeof figureOrNull
    >),
  },
  { $id: 'QoeBreakdownRow' },
);
export type QoeBreakdownRow = Type.Static<typeof QoeBreakdownRow>;

/** GET /api/v1/qoe/breakdown */
export const QoeBreakdown = Type.Object(
  {
    app: Type.String(),
    dimension: Type.String(),
    from: epochMs('Start of the range'),
    to: epochMs('End of the range (exclusive)'),
    rows: Type.Array(QoeBreakdownRow, { description: 'most sessions first' }),
  },
  { $id: 'QoeBreakdown' },
);
export type QoeBreakdown = Type.Static<typeof QoeBreakdown>;

/** One period of GET /api/v1/qoe/summary: every QoE figure as one exact row. */
export const QoeSummaryPeriod = Type.Object(
  {
    from: epochMs('Start of the period, whole minutes'),
    to: epochMs('End of the period, whole minutes'),
    bitrate_weighting: Type.Enum(['play_time', 'session'] as const),
    ...(Object.fromEntries(QOE_METRIC_NAMES.map((m) => [m, figureOrNull])) as Record<
      QoeMetricName,
      typeof figureOrNull
    >),
  },
  { $id: 'QoeSummaryPeriod' },
);
export type QoeSummaryPeriod = Type.Static<typeof QoeSummaryPeriod>;

/** GET /api/v1/qoe/summary: the period asked for and the one of equal length before it. */
export const QoeSummary = Type.Object(
  {
    app: Type.String(),
    filter: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'the filter[dimension]=value asked for' }),
    ),
    current: QoeSummaryPeriod,
    previous: QoeSummaryPeriod,
  },
  { $id: 'QoeSummary' },
);
export type QoeSummary = Type.Static<typeof QoeSummary>;

/** An anomaly the analytics engine found: a spike or drop in one metric of one dimension value. */
export const Moment = Type.Object(
  {
    id: Type.Integer(),
    appId: Type.Union([Type.String(), Type.Null()]),
    kind: Type.Union([Type.Literal('spike'), Type.Literal('drop')]),
    metric: Type.String({ description: 'concurrent_viewers, playback_failure_pct, startup_p95_ms, rebuffer_pct' }),
    dimension: Type.String(),
    value: Type.String(),
    startedAt: epochMs('Start of its first minute'),
    endedAt: epochMs('End of its last minute'),
    peakValue: Type.Number(),
    baseline: Type.Number(),
    zScore: Type.Number(),
    threshold: Type.Number(),
  },
  { $id: 'Moment' },
);
export type Moment = Type.Static<typeof Moment>;

/** GET /api/v1/moments */
export const MomentList = Type.Object({ moments: Type.Array(Moment) }, { $id: 'MomentList' });
export type MomentList = Type.Static<typeof MomentList>;

/** GET /api/v1/streams/{channel}/moments */
export const ChannelMoments = Type.Object(
  { channel: Type.String(), moments: Type.Array(Moment) },
  { $id: 'ChannelMoments' },
);
export type ChannelMoments = Type.Static<typeof ChannelMoments>;
