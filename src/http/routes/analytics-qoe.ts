// QoE routes: one metric of an app's SDK sessions over time, and every metric per value of a dimension.
// The bucket filling and summing is the engine's; these parse, authorise and shape.
import type { H3Event } from 'h3';
import type { QoeMetric } from '../../engine/index.ts';
import { HOUR } from '../../tools/time-units.ts';
import type { RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireReader, resolveApp } from '../require-access.ts';
import { QoeBreakdown, type QoeMetricName, QoeSeries } from '../wire/analytics.ts';
import { json, READ_ERRORS, READ_SECURITY } from './analytics-openapi.ts';
import {
  oneOf,
  QOE_DIMENSION_NAMES,
  QueryParams,
  queryParam,
  queryParameters,
  RANGE_PARAMETERS,
  timeRange,
} from './analytics-query.ts';

// The wire's list of metrics is the engine's: this fails to compile when one gains a metric the other lacks.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const metricListsAgree: Same<QoeMetric, QoeMetricName> = true;
void metricListsAgree;

// Each route is built by a function (hoisted), so this table can open the module.
export const qoeRoutes: RouteDef[] = [qoeTimeseries(), qoeBreakdown()];

function qoeTimeseries(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/qoe/timeseries',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
      const metric = oneOf(event, 'metric', QueryParams.qoeMetric) as QoeMetric;
      const { dimension, value } = qoeFilter(event);
      const { from, to, stepMs } = timeRange(event, 24 * HOUR);
      const points = await ctx.analytics.qoeSeries(stepMs, app, metric, { dimension, value }, from, to);
      return {
        app,
        metric,
        step: stepMs / 1000,
        ...(dimension !== 'global' ? { filter: { [dimension]: value } } : {}),
        points,
      } satisfies QoeSeries;
    },
    openapi: {
      summary: 'One QoE metric of SDK sessions over time, for the app or one value of a dimension',
      security: READ_SECURITY,
      parameters: [
        ...queryParameters({ app: QueryParams.app, metric: QueryParams.qoeMetric }),
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
        '200': json(QoeSeries),
        ...READ_ERRORS,
      },
    },
  };
}

function qoeBreakdown(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/qoe/breakdown',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
      const dimension = queryParam(event, 'dimension');
      if (dimension === undefined || !QOE_DIMENSION_NAMES.includes(dimension))
        throw new ApiError('INVALID_SCHEMA', `dimension: expected one of ${QOE_DIMENSION_NAMES.join(', ')}`);
      const { from, to, stepMs } = timeRange(event, 24 * HOUR);
      const rows = await ctx.analytics.qoeBreakdown(stepMs, app, dimension, from, to);
      return { app, dimension, from, to, rows } satisfies QoeBreakdown;
    },
    openapi: {
      summary: 'Every QoE metric per value of one dimension over a time range',
      security: READ_SECURITY,
      parameters: [
        ...queryParameters({ app: QueryParams.app }),
        { name: 'dimension', in: 'query', required: true, schema: { type: 'string', enum: QOE_DIMENSION_NAMES } },
        ...RANGE_PARAMETERS,
      ],
      responses: {
        '200': json(QoeBreakdown),
        ...READ_ERRORS,
      },
    },
  };
}

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
