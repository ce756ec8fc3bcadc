// Analytics read routes: live viewers, stream rollups by dimension, moments, and QoE time series and
// breakdowns. Thin: parse, authorise through require-access, read rollups, shape the answer.
import { getRouterParam, type H3Event } from 'h3';
import {
  addRow,
  deriveQoe,
  emptyTotals,
  QOE_METRICS,
  ROLLUP_DIMENSIONS,
  type QoeMetric,
  type QoeTotals,
} from '../../engine/index.ts';
import { QOE_DIMENSIONS, type StreamRollupRow } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireReader, resolveApp, type Principal } from '../require-access.ts';
import { paging, queryParam, RANGE_PARAMETERS, timeRange } from './analytics-query.ts';
import { errorResponses } from './openapi-shared.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** A read-scoped API key, or a signed-in user (bearer token or the dashboard's cookie). */
const READ_SECURITY = [{ apiKey: [] }, { bearer: [] }, { cookie: [] }];
const READ_ERRORS = errorResponses(400, 401, 403, 404, 429, 503);

const json = (schema: Record<string, unknown>, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
const countMap = { type: 'object', additionalProperties: { type: 'integer' } };

const FIGURE_PROPERTIES = {
  sessions_started: { type: 'integer' },
  sessions_closed: { type: 'integer' },
  total_bytes: { type: 'integer' },
  bandwidth_bps: { type: 'number', description: 'total_bytes * 8 / step seconds' },
  watch_time_seconds: { type: 'number' },
  unique_users: { type: 'integer' },
  peak_concurrent: { type: 'integer' },
};
const STREAM_POINT = {
  type: 'object',
  required: ['t', ...Object.keys(FIGURE_PROPERTIES)],
  properties: { t: { type: 'integer' }, ...FIGURE_PROPERTIES },
};

function figures(r: StreamRollupRow | undefined, stepMs: number) {
  return {
    sessions_started: r?.sessionsStarted ?? 0,
    sessions_closed: r?.sessionsClosed ?? 0,
    total_bytes: r?.totalBytes ?? 0,
    bandwidth_bps: r ? Math.round((r.totalBytes * 8 * 1000) / stepMs) : 0,
    watch_time_seconds: r ? Math.round(r.watchTimeSeconds * 1000) / 1000 : 0,
    unique_users: r?.uniqueUsers ?? 0,
    peak_concurrent: r?.peakConcurrent ?? 0,
  };
}

/** One point per complete bucket of the range; a bucket without a row had no sessions. */
async function streamPoints(
  ctx: HttpContext,
  dimension: string,
  value: string,
  from: number,
  to: number,
  stepMs: 60_000 | 3_600_000,
) {
  const rows = await ctx.store.streamSeries(stepMs, dimension, value, from, to);
  const byT = new Map(rows.map((r) => [r.t, r]));
  const complete = Math.min(to, Math.floor(Date.now() / stepMs) * stepMs);
  const points = [];
  for (let t = from; t < complete; t += stepMs) points.push({ t, ...figures(byT.get(t), stepMs) });
  return points;
}

const activeStats: RouteDef = {
  method: 'GET',
  path: '/stats/active',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    return ctx.analytics.live.counts();
  },
  openapi: {
    summary: 'Play sessions open right now, in total and by server, channel, country, protocol and device class',
    security: READ_SECURITY,
    responses: {
      '200': json({
        type: 'object',
        required: ['total', 'by_server', 'by_channel', 'by_country', 'by_protocol', 'by_device'],
        properties: {
          total: { type: 'integer' },
          by_server: countMap,
          by_channel: countMap,
          by_country: countMap,
          by_protocol: countMap,
          by_device: countMap,
        },
      }),
      ...READ_ERRORS,
    },
  },
};

const listStreams: RouteDef = {
  method: 'GET',
  path: '/api/v1/streams',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    const { limit, offset } = paging(event, 100, 500);
    const lastMinute = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
    const live = ctx.analytics.live.counts().by_channel;
    const last = new Map((await ctx.store.streamRowsAt(60_000, 'channel', lastMinute)).map((r) => [r.value, r]));
    const channels = [...new Set([...Object.keys(live), ...last.keys()])].sort(
      (a, b) =>
        (live[b] ?? 0) - (live[a] ?? 0) ||
        (last.get(b)?.watchTimeSeconds ?? 0) - (last.get(a)?.watchTimeSeconds ?? 0) ||
        a.localeCompare(b),
    );
    return {
      total: channels.length,
      limit,
      offset,
      minute: lastMinute,
      streams: channels
        .slice(offset, offset + limit)
        .map((channel) => ({ channel, viewers: live[channel] ?? 0, last_minute: figures(last.get(channel), MINUTE) })),
    };
  },
  openapi: {
    summary: 'Channels with their current viewers and the figures of the last complete minute',
    security: READ_SECURITY,
    parameters: [
      {
        name: 'limit',
        in: 'query',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
      },
      { name: 'offset', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 } },
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['total', 'limit', 'offset', 'minute', 'streams'],
        properties: {
          total: { type: 'integer' },
          limit: { type: 'integer' },
          offset: { type: 'integer' },
          minute: { type: 'integer', description: 'Start of the minute last_minute describes, epoch ms' },
          streams: {
            type: 'array',
            items: {
              type: 'object',
              required: ['channel', 'viewers', 'last_minute'],
              properties: {
                channel: { type: 'string' },
                viewers: { type: 'integer' },
                last_minute: { type: 'object', properties: FIGURE_PROPERTIES },
              },
            },
          },
        },
      }),
      ...READ_ERRORS,
    },
  },
};

function channelParam(event: H3Event): string {
  const channel = getRouterParam(event, 'channel', { decode: true }) ?? '';
  if (channel.length < 1 || channel.length > 256)
    throw new ApiError('INVALID_SCHEMA', 'channel: must be 1 to 256 characters');
  return channel;
}

const channelMetrics: RouteDef = {
  method: 'GET',
  path: '/api/v1/streams/:channel/metrics',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    const channel = channelParam(event);
    const { from, to, stepMs } = timeRange(event, HOUR);
    return { channel, step: stepMs / 1000, points: await streamPoints(ctx, 'channel', channel, from, to, stepMs) };
  },
  openapi: {
    summary: 'Per-minute or per-hour figures of one channel',
    security: READ_SECURITY,
    parameters: [{ name: 'channel', in: 'path', required: true, schema: { type: 'string' } }, ...RANGE_PARAMETERS],
    responses: {
      '200': json({
        type: 'object',
        required: ['channel', 'step', 'points'],
        properties: {
          channel: { type: 'string' },
          step: { type: 'integer' },
          points: { type: 'array', items: STREAM_POINT },
        },
      }),
      ...READ_ERRORS,
    },
  },
};

const statsSeries: RouteDef = {
  method: 'GET',
  path: '/api/v1/stats/series',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    const dimension = queryParam(event, 'dimension') ?? 'global';
    if (!(ROLLUP_DIMENSIONS as readonly string[]).includes(dimension))
      throw new ApiError(
        'INVALID_SCHEMA',
        `dimension: expected one of ${ROLLUP_DIMENSIONS.join(', ')}, got ${JSON.stringify(dimension.slice(0, 40))}`,
      );
    const value = dimension === 'global' ? '' : queryParam(event, 'value');
    if (value === undefined) throw new ApiError('INVALID_SCHEMA', `value: is required for dimension ${dimension}`);
    const { from, to, stepMs } = timeRange(event, HOUR);
    return {
      dimension,
      value,
      step: stepMs / 1000,
      points: await streamPoints(ctx, dimension, value, from, to, stepMs),
    };
  },
  openapi: {
    summary: 'Per-minute or per-hour stream figures of the whole service or one value of a dimension',
    security: READ_SECURITY,
    parameters: [
      {
        name: 'dimension',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: [...ROLLUP_DIMENSIONS], default: 'global' },
      },
      {
        name: 'value',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: 'Required unless dimension is global',
      },
      ...RANGE_PARAMETERS,
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['dimension', 'value', 'step', 'points'],
        properties: {
          dimension: { type: 'string' },
          value: { type: 'string' },
          step: { type: 'integer' },
          points: { type: 'array', items: STREAM_POINT },
        },
      }),
      ...READ_ERRORS,
    },
  },
};

const MOMENT_SCHEMA = {
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

const visibleApps = (p: Principal) => (p.apps === 'all' ? undefined : p.apps);

const channelMoments: RouteDef = {
  method: 'GET',
  path: '/api/v1/streams/:channel/moments',
  async handler(event, ctx) {
    await requireReader(event, ctx);
    const channel = channelParam(event);
    const { from, to } = timeRange(event, 24 * HOUR);
    return {
      channel,
      moments: await ctx.store.listMoments({ from, to, dimension: 'channel', value: channel, apps: [], limit: 500 }),
    };
  },
  openapi: {
    summary: 'Moments (viewer spikes and drops) of one channel',
    security: READ_SECURITY,
    parameters: [
      { name: 'channel', in: 'path', required: true, schema: { type: 'string' } },
      ...RANGE_PARAMETERS.slice(0, 2),
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['channel', 'moments'],
        properties: { channel: { type: 'string' }, moments: { type: 'array', items: MOMENT_SCHEMA } },
      }),
      ...READ_ERRORS,
    },
  },
};

const listMoments: RouteDef = {
  method: 'GET',
  path: '/api/v1/moments',
  async handler(event, ctx) {
    const principal = await requireReader(event, ctx);
    const { from, to } = timeRange(event, 24 * HOUR);
    const metric = queryParam(event, 'metric');
    const apps = visibleApps(principal);
    return {
      moments: await ctx.store.listMoments({
        from,
        to,
        ...(metric ? { metric } : {}),
        ...(apps ? { apps } : {}),
        limit: 1000,
      }),
    };
  },
  openapi: {
    summary: 'Moments in a time range: stream moments, and QoE moments of the apps the caller sees',
    security: READ_SECURITY,
    parameters: [
      ...RANGE_PARAMETERS.slice(0, 2),
      {
        name: 'metric',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: 'concurrent_viewers, playback_failure_pct, startup_p95_ms, rebuffer_pct',
      },
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['moments'],
        properties: { moments: { type: 'array', items: MOMENT_SCHEMA } },
      }),
      ...READ_ERRORS,
    },
  },
};

const QOE_DIMENSION_NAMES = Object.keys(QOE_DIMENSIONS);

/** The one `filter[dim]=value` of a QoE query, or the whole app. */
function qoeFilter(event: H3Event): { dimension: string; value: string } {
  const filters: Array<{ dimension: string; value: string }> = [];
  for (const [k, v] of event.url.searchParams) {
    const m = /^filter\[(.*)\]$/.exec(k);
    if (!m) continue;
    if (!QOE_DIMENSION_NAMES.includes(m[1]!))
      throw new ApiError(
        'INVALID_SCHEMA',
        `${k}: unknown dimension; expected one of ${QOE_DIMENSION_NAMES.join(', ')}`,
      );
    filters.push({ dimension: m[1]!, value: v });
  }
  if (filters.length > 1)
    throw new ApiError(
      'INVALID_SCHEMA',
      'filter: one filter[dimension]=value at a time (rollups are kept per dimension)',
    );
  return filters[0] ?? { dimension: 'global', value: '' };
}

const qoeTimeseries: RouteDef = {
  method: 'GET',
  path: '/api/v1/qoe/timeseries',
  async handler(event, ctx) {
    const principal = await requireReader(event, ctx);
    const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
    const metric = (queryParam(event, 'metric') ?? 'sessions') as QoeMetric;
    if (!QOE_METRICS.includes(metric))
      throw new ApiError(
        'INVALID_SCHEMA',
        `metric: expected one of ${QOE_METRICS.join(', ')}, got ${JSON.stringify(String(metric).slice(0, 40))}`,
      );
    const { dimension, value } = qoeFilter(event);
    const { from, to, stepMs } = timeRange(event, 24 * HOUR);
    const rows = await ctx.store.qoeRows(stepMs, app, dimension, value, from, to);
    const byT = new Map(rows.map((r) => [r.t, r]));
    const points = [];
    for (let t = from; t < to; t += stepMs) {
      const r = byT.get(t);
      if (!r) {
        points.push({ t, value: metric === 'sessions' ? 0 : null });
        continue;
      }
      const totals = emptyTotals();
      addRow(totals, r);
      points.push({ t, value: deriveQoe(totals)[metric] });
    }
    return {
      app,
      metric,
      step: stepMs / 1000,
      ...(dimension !== 'global' ? { filter: { [dimension]: value } } : {}),
      points,
    };
  },
  openapi: {
    summary: 'One QoE metric of SDK sessions over time, for the app or one value of a dimension',
    security: READ_SECURITY,
    parameters: [
      {
        name: 'app',
        in: 'query',
        required: false,
        schema: { type: 'string' },
        description: 'May be omitted when the caller sees exactly one app',
      },
      {
        name: 'metric',
        in: 'query',
        required: false,
        schema: { type: 'string', enum: [...QOE_METRICS], default: 'sessions' },
      },
      {
        name: 'filter',
        in: 'query',
        required: false,
        style: 'deepObject',
        explode: true,
        schema: { type: 'object', additionalProperties: { type: 'string' } },
        description: `filter[dimension]=value, one of ${QOE_DIMENSION_NAMES.join(', ')}`,
      },
      ...RANGE_PARAMETERS,
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['app', 'metric', 'step', 'points'],
        properties: {
          app: { type: 'string' },
          metric: { type: 'string' },
          step: { type: 'integer' },
          filter: { type: 'object' },
          points: {
            type: 'array',
            items: {
              type: 'object',
              required: ['t', 'value'],
              properties: { t: { type: 'integer' }, value: { type: ['number', 'null'] } },
            },
          },
        },
      }),
      ...READ_ERRORS,
    },
  },
};

const qoeBreakdown: RouteDef = {
  method: 'GET',
  path: '/api/v1/qoe/breakdown',
  async handler(event, ctx) {
    const principal = await requireReader(event, ctx);
    const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
    const dimension = queryParam(event, 'dimension');
    if (dimension === undefined || !QOE_DIMENSION_NAMES.includes(dimension))
      throw new ApiError('INVALID_SCHEMA', `dimension: expected one of ${QOE_DIMENSION_NAMES.join(', ')}`);
    const { from, to, stepMs } = timeRange(event, 24 * HOUR);
    const totals = new Map<string, QoeTotals>();
    for (const r of await ctx.store.qoeRows(stepMs, app, dimension, null, from, to)) {
      let t = totals.get(r.value);
      if (!t) totals.set(r.value, (t = emptyTotals()));
      addRow(t, r);
    }
    const rows = [...totals]
      .map(([value, t]) => ({ value, ...deriveQoe(t) }))
      .sort((a, b) => b.sessions! - a.sessions! || a.value.localeCompare(b.value));
    return { app, dimension, from, to, rows };
  },
  openapi: {
    summary: 'Every QoE metric per value of one dimension over a time range',
    security: READ_SECURITY,
    parameters: [
      { name: 'app', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'dimension', in: 'query', required: true, schema: { type: 'string', enum: QOE_DIMENSION_NAMES } },
      ...RANGE_PARAMETERS,
    ],
    responses: {
      '200': json({
        type: 'object',
        required: ['app', 'dimension', 'rows'],
        properties: {
          app: { type: 'string' },
          dimension: { type: 'string' },
          from: { type: 'integer' },
          to: { type: 'integer' },
          rows: {
            type: 'array',
            items: {
              type: 'object',
              required: ['value', 'sessions'],
              properties: {
                value: { type: 'string' },
                ...Object.fromEntries(QOE_METRICS.map((m) => [m, { type: ['number', 'null'] }])),
              },
            },
          },
        },
      }),
      ...READ_ERRORS,
    },
  },
};

export const analyticsRoutes: RouteDef[] = [
  activeStats,
  listStreams,
  channelMetrics,
  statsSeries,
  channelMoments,
  listMoments,
  qoeTimeseries,
  qoeBreakdown,
];
