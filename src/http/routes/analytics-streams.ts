// Stream analytics routes: live viewers, the channel list, and per-minute or per-hour stream figures of
// a channel or of one value of a dimension. Thin: parse, authorise through require-access, read, shape.
import type { StreamRollupRow } from '../../store/index.ts';
import { HOUR, MINUTE } from '../../tools/time-units.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireReader } from '../require-access.ts';
import { countMap, FIGURE_PROPERTIES, json, READ_ERRORS, READ_SECURITY, STREAM_POINT } from './analytics-openapi.ts';
import {
  channelParam,
  limitParam,
  oneOf,
  paging,
  QueryParams,
  queryParam,
  queryParameters,
  RANGE_PARAMETERS,
  timeRange,
} from './analytics-query.ts';

// Each route is built by a function (hoisted), so this table can open the module.
export const streamRoutes: RouteDef[] = [activeStats(), listStreams(), channelMetrics(), statsSeries()];

function activeStats(): RouteDef {
  return {
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
}

function listStreams(): RouteDef {
  return {
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
        streams: channels.slice(offset, offset + limit).map((channel) => ({
          channel,
          viewers: live[channel] ?? 0,
          last_minute: figures(last.get(channel), MINUTE),
        })),
      };
    },
    openapi: {
      summary: 'Channels with their current viewers and the figures of the last complete minute',
      security: READ_SECURITY,
      parameters: queryParameters({ limit: limitParam(500, 100), offset: QueryParams.offset }),
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
}

function channelMetrics(): RouteDef {
  return {
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
}

function statsSeries(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/stats/series',
    async handler(event, ctx) {
      await requireReader(event, ctx);
      const dimension = oneOf(event, 'dimension', QueryParams.dimension)!;
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
        ...queryParameters({ dimension: QueryParams.dimension, value: QueryParams.value }),
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
}

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
