// Stream analytics routes: live viewers, the channel list, and per-minute or per-hour stream figures of
// a channel or of one value of a dimension, each of one app: an API key's own, or `?app=` for a user (see
// resolveStreamApp). Thin: parse, authorise through require-access, read, shape.
import type { H3Event } from 'h3';
import type { StreamRollupRow } from '../../store/index.ts';
import { HOUR, MINUTE } from '../../tools/time-units.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { type Principal, requireReader, resolveStreamApp } from '../require-access.ts';
import { isRoomStream, roomPoints, visibleRoomStream } from '../room-stream.ts';
import {
  ActiveCounts,
  ChannelSeries,
  StreamList,
  type StreamFigures,
  type StreamPoint,
  StreamSeries,
} from '../../wire/analytics.ts';
import { json, READ_ERRORS, READ_SECURITY } from './analytics-openapi.ts';
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
import { PathParams, pathParameters } from './route-params.ts';

// Each route is built by a function (hoisted), so this table can open the module.
export const streamRoutes: RouteDef[] = [activeStats(), listStreams(), channelMetrics(), statsSeries()];

function activeStats(): RouteDef {
  return {
    method: 'GET',
    path: '/stats/active',
    async handler(event, ctx) {
      const app = await streamApp(event, ctx);
      return ctx.analytics.viewers.counts(app) satisfies ActiveCounts;
    },
    openapi: {
      summary:
        "One app's play sessions open right now, in total and by server, channel, country, protocol and device class",
      security: READ_SECURITY,
      parameters: queryParameters({ app: QueryParams.app }),
      responses: {
        '200': json(ActiveCounts),
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
      const app = await streamApp(event, ctx);
      const { limit, offset } = paging(event, 100, 500);
      const lastMinute = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
      // A Map, not the object: a channel named "constructor" or "__proto__" must not read Object.prototype.
      const live = new Map(Object.entries(ctx.analytics.viewers.counts(app).by_channel));
      const last = new Map((await ctx.store.streamRowsAt(60_000, app, 'channel', lastMinute)).map((r) => [r.value, r]));
      const channels = [...new Set([...live.keys(), ...last.keys()])].sort(
        (a, b) =>
          (live.get(b) ?? 0) - (live.get(a) ?? 0) ||
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
          viewers: live.get(channel) ?? 0,
          last_minute: figures(last.get(channel), MINUTE),
        })),
      } satisfies StreamList;
    },
    openapi: {
      summary: 'Channels with their current viewers and the figures of the last complete minute',
      security: READ_SECURITY,
      parameters: queryParameters({ app: QueryParams.app, limit: limitParam(500, 100), offset: QueryParams.offset }),
      responses: {
        '200': json(StreamList),
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
      const principal = await requireReader(event, ctx);
      const channel = channelParam(event);
      if (isRoomStream(channel)) return roomMetrics(event, ctx, principal, channel);
      const app = await resolveStreamApp(ctx, principal, queryParam(event, 'app'));
      const { from, to, stepMs } = timeRange(event, HOUR);
      return {
        channel,
        step: stepMs / 1000,
        points: await streamPoints(ctx, app, 'channel', channel, from, to, stepMs),
      } satisfies ChannelSeries;
    },
    openapi: {
      summary: 'Per-minute or per-hour figures of one channel, or of a watch-party room (channel room:<id>)',
      description:
        "A channel named room:<id> is a watch-party room of the caller's apps (404 otherwise; ?app= may name its app): each point has viewers (members connected, most at once), chat_messages, chat_rate (per minute), unique_chatters, top_emotes [{emote, count}] and sentiment (mean score of the messages, null without a scorer or messages).",
      security: READ_SECURITY,
      parameters: [
        ...pathParameters({ channel: PathParams.channel }),
        ...queryParameters({ app: QueryParams.app }),
        ...RANGE_PARAMETERS,
      ],
      responses: {
        '200': json(ChannelSeries),
        ...READ_ERRORS,
      },
    },
  };
}

/** A room's figures as a stream: the caller (401/403) must see the room's app; otherwise 404. */
async function roomMetrics(event: H3Event, ctx: HttpContext, principal: Principal, channel: string) {
  const room = await visibleRoomStream(ctx, principal, channel, queryParam(event, 'app'));
  if (!room) throw new ApiError('NOT_FOUND', `no room ${JSON.stringify(channel.slice(5, 69))}`);
  const { from, to, stepMs } = timeRange(event, HOUR);
  return { channel, step: stepMs / 1000, points: await roomPoints(ctx, room, from, to, stepMs) };
}

function statsSeries(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/stats/series',
    async handler(event, ctx) {
      const app = await streamApp(event, ctx);
      const dimension = oneOf(event, 'dimension', QueryParams.dimension)!;
      const value = dimension === 'global' ? '' : queryParam(event, 'value');
      if (value === undefined) throw new ApiError('INVALID_SCHEMA', `value: is required for dimension ${dimension}`);
      const { from, to, stepMs } = timeRange(event, HOUR);
      return {
        dimension,
        value,
        step: stepMs / 1000,
        points: await streamPoints(ctx, app, dimension, value, from, to, stepMs),
      } satisfies StreamSeries;
    },
    openapi: {
      summary: 'Per-minute or per-hour stream figures of the whole service or one value of a dimension',
      security: READ_SECURITY,
      parameters: [
        ...queryParameters({ app: QueryParams.app, dimension: QueryParams.dimension, value: QueryParams.value }),
        ...RANGE_PARAMETERS,
      ],
      responses: {
        '200': json(StreamSeries),
        ...READ_ERRORS,
      },
    },
  };
}

/** The caller (401/403 otherwise) and the app the read is about (404 for one the caller does not see). */
async function streamApp(event: H3Event, ctx: HttpContext): Promise<string> {
  const principal = await requireReader(event, ctx);
  return resolveStreamApp(ctx, principal, queryParam(event, 'app'));
}

function figures(r: StreamRollupRow | undefined, stepMs: number): StreamFigures {
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
  app: string,
  dimension: string,
  value: string,
  from: number,
  to: number,
  stepMs: 60_000 | 3_600_000,
): Promise<StreamPoint[]> {
  const rows = await ctx.store.streamSeries(stepMs, app, dimension, value, from, to);
  const byT = new Map(rows.map((r) => [r.t, r]));
  const complete = Math.min(to, Math.floor(Date.now() / stepMs) * stepMs);
  const points: StreamPoint[] = [];
  for (let t = from; t < complete; t += stepMs) points.push({ t, ...figures(byT.get(t), stepMs) });
  return points;
}
