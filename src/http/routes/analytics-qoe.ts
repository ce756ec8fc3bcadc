// QoE routes: one metric of an app's SDK sessions over time, and every metric per value of a dimension.
// The bucket filling and summing is the engine's; these parse, authorise and shape.
import type { H3Event } from 'h3';
import { QOE_METRICS, type QoeMetric } from '../../engine/index.ts';
import { csvRow } from '../../tools/csv.ts';
import { HOUR } from '../../tools/time-units.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireReader, resolveApp } from '../require-access.ts';
import { QoeBreakdown, type QoeMetricName, QoeSeries, QoeSummary } from '../../wire/analytics.ts';
import { json, READ_ERRORS, READ_SECURITY } from './analytics-openapi.ts';
import { csvResponse } from './openapi-shared.ts';
import {
  oneOf,
  periodRange,
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
export const qoeRoutes: RouteDef[] = [qoeTimeseries(), qoeBreakdown(), qoeBreakdownCsv(), qoeSummary()];

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
        ...queryParameters({ app: QueryParams.app, metric: QueryParams.qoeMetric, filter: QueryParams.qoeFilter }),
        ...RANGE_PARAMETERS,
      ],
      responses: {
        '200': json(QoeSeries),
        ...READ_ERRORS,
      },
    },
  };
}

/** The breakdown both the JSON and the CSV route answer: the caller's app, one dimension, a time range. */
async function readBreakdown(event: H3Event, ctx: HttpContext) {
  const principal = await requireReader(event, ctx);
  const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
  const dimension = oneOf(event, 'dimension', QueryParams.qoeDimension);
  if (dimension === undefined)
    throw new ApiError('INVALID_SCHEMA', `dimension: expected one of ${QOE_DIMENSION_NAMES.join(', ')}`);
  const { from, to, stepMs } = timeRange(event, 24 * HOUR);
  const rows = await ctx.analytics.qoeBreakdown(stepMs, app, dimension, from, to);
  return { app, dimension, from, to, rows };
}

function qoeBreakdown(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/qoe/breakdown',
    async handler(event, ctx) {
      return (await readBreakdown(event, ctx)) satisfies QoeBreakdown;
    },
    openapi: {
      summary: 'Every QoE metric per value of one dimension over a time range',
      security: READ_SECURITY,
      parameters: [...breakdownParameters(), ...RANGE_PARAMETERS],
      responses: {
        '200': json(QoeBreakdown),
        ...READ_ERRORS,
      },
    },
  };
}

function breakdownParameters() {
  return queryParameters({ app: QueryParams.app, dimension: QueryParams.qoeDimension }, ['dimension']);
}

function qoeBreakdownCsv(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/qoe/breakdown.csv',
    async handler(event, ctx) {
      const { app, dimension, rows } = await readBreakdown(event, ctx);
      let csv = csvRow([dimension, ...QOE_METRICS]);
      for (const r of rows) csv += csvRow([r.value, ...QOE_METRICS.map((m) => r[m])]);
      return new Response(csv, {
        headers: {
          'content-type': 'text/csv; charset=utf-8; header=present',
          'content-disposition': `attachment; filename="qoe-${app}-${dimension}.csv"`,
          'cache-control': 'no-store',
        },
      });
    },
    openapi: {
      summary: 'The QoE breakdown as CSV: a row per value of the dimension, a column per metric',
      description:
        'RFC 4180 with a header row; text cells that a spreadsheet would run as a formula get a leading apostrophe.',
      security: READ_SECURITY,
      parameters: [...breakdownParameters(), ...RANGE_PARAMETERS],
      responses: {
        '200': csvResponse('A row per value of the dimension, a column per metric'),
        ...READ_ERRORS,
      },
    },
  };
}

function qoeSummary(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/qoe/summary',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const app = await resolveApp(ctx, principal, queryParam(event, 'app'));
      const filter = qoeFilter(event);
      // Not timeRange: a series' start is aligned to its step (an hour beyond 6 hours), a period's only to the minute.
      const { from, to } = periodRange(event, 24 * HOUR);
      const { current, previous } = await ctx.analytics.qoeSummary(app, filter, from, to);
      return {
        app,
        ...(filter.dimension !== 'global' ? { filter: { [filter.dimension]: filter.value } } : {}),
        current,
        previous,
      } satisfies QoeSummary;
    },
    openapi: {
      summary:
        'Every QoE figure of a period as one exact row (percentiles from merged histograms), and the period before it',
      description:
        'from is taken down and to up to whole minutes; `previous` is the period of equal length ending at `from`. ' +
        'Startup percentiles are within 5 % of the exact values (the histogram buckets grow by 10 %).',
      security: READ_SECURITY,
      parameters: [
        ...queryParameters({ app: QueryParams.app, filter: QueryParams.qoeFilter }),
        ...RANGE_PARAMETERS.slice(0, 2),
      ],
      responses: {
        '200': json(QoeSummary),
        ...READ_ERRORS,
      },
    },
  };
}

/** The one `filter[dim]=value` of a QoE query, or the whole app. */
export function qoeFilter(event: H3Event): { dimension: string; value: string } {
  const filters: Array<{ dimension: string; value: string }> = [];
  const dimensions = QueryParams.qoeFilter.properties;
  for (const [k, v] of event.url.searchParams) {
    const m = /^filter\[(.*)\]$/.exec(k);
    if (!m) continue;
    if (!Object.hasOwn(dimensions, m[1]!))
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
