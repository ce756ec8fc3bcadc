// Query-string parsing shared by the analytics read routes: time ranges, steps and paging, each refused
// with a message that names the parameter. Every parameter is a TypeBox schema: the same schema checks the
// value and is the parameter's schema in /openapi.json (queryParameters).
import { getRouterParam, type H3Event } from 'h3';
import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { QOE_METRICS, ROLLUP_DIMENSIONS } from '../../engine/index.ts';
import { QOE_DIMENSIONS } from '../../store/index.ts';
import { ApiError } from '../errors.ts';

const MAX_POINTS = 10_000;
const MAX_RANGE_MS = 3 * 366 * 86_400_000;
/** Ranges up to this long answer from minute rows by default; longer ones from hourly rows. */
const MINUTE_STEP_UP_TO_MS = 6 * 3_600_000;

export function queryParam(event: H3Event, name: string): string | undefined {
  const v = event.url.searchParams.get(name);
  return v === null || v === '' ? undefined : v;
}

const EPOCH_MS = { minimum: 0, maximum: 8.64e15 };
/** The dimensions QoE rollups are kept by (filter[...] and breakdown's dimension). */
export const QOE_DIMENSION_NAMES = Object.keys(QOE_DIMENSIONS);

type Enumerated = TSchema & { enum: readonly string[]; default?: string };
/** A string parameter that must be one of `values`, `fallback` when absent. */
const enumOf = (values: readonly string[], fallback: string): Enumerated =>
  Type.String({ enum: [...values], default: fallback }) as unknown as Enumerated;

/** The query parameters of the analytics routes, by name. */
export const QueryParams = {
  from: Type.Integer({ ...EPOCH_MS, description: 'Start, epoch ms (default: one span before `to`)' }),
  to: Type.Integer({ ...EPOCH_MS, description: 'End (exclusive), epoch ms (default: now)' }),
  step: Type.Integer({
    enum: [60, 3600],
    description: 'Bucket length in seconds; default 60 for ranges up to 6 hours, else 3600 (hourly rows)',
  }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  /** Stream series: the whole service or one dimension of the play sessions. */
  dimension: enumOf(ROLLUP_DIMENSIONS, 'global'),
  value: Type.String({ description: 'Required unless dimension is global' }),
  /** QoE time series: which figure. */
  qoeMetric: enumOf(QOE_METRICS, 'sessions'),
  app: Type.String({ description: 'May be omitted when the caller sees exactly one app' }),
  /** QoE breakdown: the dimension rows are grouped by (required). */
  qoeDimension: Type.String({ enum: QOE_DIMENSION_NAMES }) as unknown as Enumerated,
  /** QoE series and summary: at most one filter[dimension]=value (rollups are kept per dimension). */
  qoeFilter: Type.Object(Object.fromEntries(QOE_DIMENSION_NAMES.map((d) => [d, Type.Optional(Type.String())])), {
    additionalProperties: false,
    maxProperties: 1,
    description: `filter[dimension]=value, one of ${QOE_DIMENSION_NAMES.join(', ')}; one at a time`,
  }),
  momentMetric: Type.String({
    description: 'concurrent_viewers, playback_failure_pct, startup_p95_ms, rebuffer_pct',
  }),
};

type Bounded = TSchema & { minimum?: number; maximum?: number };
const limits = new Map<string, Bounded>();
/** A `limit` parameter of 1 to `max`, `fallback` when absent (one schema per pair, so it is compiled once). */
export function limitParam(max: number, fallback: number): Bounded {
  const key = `${max}:${fallback}`;
  const known = limits.get(key);
  if (known) return known;
  const schema: Bounded = Type.Integer({ minimum: 1, maximum: max, default: fallback });
  limits.set(key, schema);
  return schema;
}

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();
function check(schema: TSchema, value: unknown): boolean {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = Compile(schema)));
  return v.Check(value);
}

/** An integer query parameter checked against its schema (minimum and maximum name the allowed range). */
function integer(
  event: H3Event,
  name: string,
  schema: TSchema & { minimum?: number; maximum?: number },
): number | undefined {
  const raw = queryParam(event, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || !check(schema, n))
    throw new ApiError(
      'INVALID_SCHEMA',
      `${name}: expected an integer from ${schema.minimum} to ${schema.maximum}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  return n;
}

/** A string query parameter that must be one of the schema's enum (its default when absent). */
export function oneOf(event: H3Event, name: string, schema: Enumerated): string | undefined {
  const raw = queryParam(event, name) ?? schema.default;
  if (raw === undefined || check(schema, raw)) return raw;
  throw new ApiError(
    'INVALID_SCHEMA',
    `${name}: expected one of ${schema.enum.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`,
  );
}

/**
 * OpenAPI query parameters generated from the schemas; `required` names the ones that must be given. An object
 * schema is a deepObject parameter (filter[country]=DE).
 */
export function queryParameters(params: Record<string, TSchema>, required: readonly string[] = []) {
  return Object.entries(params).map(([name, schema]) => {
    const { description, ...rest } = schema as TSchema & { description?: string; type?: string };
    return {
      name,
      in: 'query',
      required: required.includes(name),
      ...(rest.type === 'object' ? { style: 'deepObject', explode: true } : {}),
      schema: JSON.parse(JSON.stringify(rest)) as Record<string, unknown>,
      ...(description ? { description } : {}),
    };
  });
}

export interface TimeRange {
  from: number;
  to: number;
  /** Bucket length in ms: 60000 or 3600000. */
  stepMs: 60_000 | 3_600_000;
}

/**
 * from / to (epoch ms) as given, defaulting to the last `defaultSpanMs`: for a period answered as one row, which
 * the engine takes to whole minutes (a series' start is also aligned to its step: timeRange).
 */
export function periodRange(event: H3Event, defaultSpanMs: number, now = Date.now()): { from: number; to: number } {
  const to = integer(event, 'to', QueryParams.to) ?? now;
  const from = integer(event, 'from', QueryParams.from) ?? to - defaultSpanMs;
  if (from >= to) throw new ApiError('INVALID_SCHEMA', `from: must be before to (got from=${from}, to=${to})`);
  if (to - from > MAX_RANGE_MS) throw new ApiError('INVALID_SCHEMA', 'from: the range may span at most three years');
  return { from, to };
}

/** from / to (epoch ms) and step (60 or 3600 seconds), defaulting to the last `defaultSpanMs` and a step fit for the span. */
export function timeRange(event: H3Event, defaultSpanMs: number, now = Date.now()): TimeRange {
  const { from, to } = periodRange(event, defaultSpanMs, now);
  const stepRaw = queryParam(event, 'step');
  let stepMs: 60_000 | 3_600_000;
  if (stepRaw === undefined) stepMs = to - from <= MINUTE_STEP_UP_TO_MS ? 60_000 : 3_600_000;
  else if (stepRaw === '60') stepMs = 60_000;
  else if (stepRaw === '3600') stepMs = 3_600_000;
  else
    throw new ApiError(
      'INVALID_SCHEMA',
      `step: expected 60 or 3600 (seconds), got ${JSON.stringify(stepRaw.slice(0, 40))}`,
    );
  const alignedFrom = Math.floor(from / stepMs) * stepMs;
  if ((to - alignedFrom) / stepMs > MAX_POINTS)
    throw new ApiError(
      'INVALID_SCHEMA',
      `step: ${stepMs / 1000} s over this range gives more than ${MAX_POINTS} points; use step=3600 or a shorter range`,
    );
  return { from: alignedFrom, to, stepMs };
}

export function paging(event: H3Event, defaultLimit: number, maxLimit: number): { limit: number; offset: number } {
  return {
    limit: integer(event, 'limit', limitParam(maxLimit, defaultLimit)) ?? defaultLimit,
    offset: integer(event, 'offset', QueryParams.offset) ?? 0,
  };
}

/** OpenAPI parameters for from / to / step. */
export const RANGE_PARAMETERS = queryParameters({ from: QueryParams.from, to: QueryParams.to, step: QueryParams.step });

/** The :channel path parameter, 1 to 256 characters. */
export function channelParam(event: H3Event): string {
  const channel = getRouterParam(event, 'channel', { decode: true }) ?? '';
  if (channel.length < 1 || channel.length > 256)
    throw new ApiError('INVALID_SCHEMA', 'channel: must be 1 to 256 characters');
  return channel;
}
