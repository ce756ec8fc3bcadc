// Moment routes: viewer spikes and drops of one app's channel, and every moment of the apps the caller may see
// in a time range.
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { isRoomStream, visibleRoomStream } from '../room-stream.ts';
import { requireReader, resolveStreamApp, type Principal } from '../require-access.ts';
import { HOUR } from '../../tools/time-units.ts';
import { ChannelMoments, MomentList } from '../../wire/analytics.ts';
import { json, READ_ERRORS, READ_SECURITY } from './analytics-openapi.ts';
import {
  channelParam,
  QueryParams,
  queryParam,
  queryParameters,
  RANGE_PARAMETERS,
  timeRange,
} from './analytics-query.ts';
import { PathParams, pathParameters } from './route-params.ts';

// Each route is built by a function (hoisted), so this table can open the module.
export const momentRoutes: RouteDef[] = [channelMoments(), listMoments()];

function channelMoments(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/streams/:channel/moments',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const channel = channelParam(event);
      if (isRoomStream(channel)) {
        // A watch-party room: its chat spikes and sentiment drops, if the caller sees its app.
        const room = await visibleRoomStream(ctx, principal, channel, queryParam(event, 'app'));
        if (!room) throw new ApiError('NOT_FOUND', `no room ${JSON.stringify(channel.slice(5, 69))}`);
        const { from, to } = timeRange(event, 24 * HOUR);
        const query = { from, to, dimension: 'room', value: room.id, apps: [room.appId], limit: 500 };
        return { channel, moments: await ctx.store.listMoments(query) };
      }
      const app = await resolveStreamApp(ctx, principal, queryParam(event, 'app'));
      const { from, to } = timeRange(event, 24 * HOUR);
      return {
        channel,
        moments: await ctx.store.listMoments({
          from,
          to,
          dimension: 'channel',
          value: channel,
          apps: [app],
          limit: 500,
        }),
      } satisfies ChannelMoments;
    },
    openapi: {
      summary:
        "Moments (viewer spikes and drops) of one app's channel; of a room (room:<id>): chat spikes, sentiment drops",
      security: READ_SECURITY,
      parameters: [
        ...pathParameters({ channel: PathParams.channel }),
        ...queryParameters({ app: QueryParams.app }),
        ...RANGE_PARAMETERS.slice(0, 2),
      ],
      responses: {
        '200': json(ChannelMoments),
        ...READ_ERRORS,
      },
    },
  };
}

function listMoments(): RouteDef {
  return {
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
      } satisfies MomentList;
    },
    openapi: {
      summary: 'Moments in a time range: stream and QoE moments of the apps the caller sees',
      security: READ_SECURITY,
      parameters: [...RANGE_PARAMETERS.slice(0, 2), ...queryParameters({ metric: QueryParams.momentMetric })],
      responses: {
        '200': json(MomentList),
        ...READ_ERRORS,
      },
    },
  };
}

/** The apps whose moments the caller sees (undefined: all). */
function visibleApps(p: Principal) {
  return p.apps === 'all' ? undefined : p.apps;
}
