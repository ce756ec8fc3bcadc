// Moment routes: viewer spikes and drops of a channel, and every moment the caller may see in a time range.
import type { RouteDef } from '../context.ts';
import { requireReader, type Principal } from '../require-access.ts';
import { HOUR } from '../../tools/time-units.ts';
import { json, MOMENT_SCHEMA, READ_ERRORS, READ_SECURITY } from './analytics-openapi.ts';
import {
  channelParam,
  QueryParams,
  queryParam,
  queryParameters,
  RANGE_PARAMETERS,
  timeRange,
} from './analytics-query.ts';

// Each route is built by a function (hoisted), so this table can open the module.
export const momentRoutes: RouteDef[] = [channelMoments(), listMoments()];

function channelMoments(): RouteDef {
  return {
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
      };
    },
    openapi: {
      summary: 'Moments in a time range: stream moments, and QoE moments of the apps the caller sees',
      security: READ_SECURITY,
      parameters: [...RANGE_PARAMETERS.slice(0, 2), ...queryParameters({ metric: QueryParams.momentMetric })],
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
}

/** The apps whose QoE moments the caller sees (undefined: all). */
function visibleApps(p: Principal) {
  return p.apps === 'all' ? undefined : p.apps;
}
