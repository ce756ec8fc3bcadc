// Query-string parsing shared by the analytics read routes: time ranges, steps and paging, each refused
// with a message that names the parameter.
import { getRouterParam, type H3Event } from 'h3';
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

function integer(event: H3Event, name: string, min: number, max: number): number | undefined {
  const raw = queryParam(event, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new ApiError(
      'INVALID_SCHEMA',
      `${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  return n;
}

export interface TimeRange {
  from: number;
  to: number;
  /** Bucket length in ms: 60000 or 3600000. */
  stepMs: 60_000 | 3_600_000;
}

/** from / to (epoch ms) and step (60 or 3600 seconds), defaulting to the last `defaultSpanMs` and a step fit for the span. */
export function timeRange(event: H3Event, defaultSpanMs: number, now = Date.now()): TimeRange {
  const to = integer(event, 'to', 0, 8.64e15) ?? now;
  const from = integer(event, 'from', 0, 8.64e15) ?? to - defaultSpanMs;
  if (from >= to) throw new ApiError('INVALID_SCHEMA', `from: must be before to (got from=${from}, to=${to})`);
  if (to - from > MAX_RANGE_MS) throw new ApiError('INVALID_SCHEMA', 'from: the range may span at most three years');
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
    limit: integer(event, 'limit', 1, maxLimit) ?? defaultLimit,
    offset: integer(event, 'offset', 0, 1_000_000_000) ?? 0,
  };
}

/** OpenAPI parameters for from / to / step. */
export const RANGE_PARAMETERS = [
  {
    name: 'from',
    in: 'query',
    required: false,
    schema: { type: 'integer' },
    description: 'Start, epoch ms (default: one span before `to`)',
  },
  {
    name: 'to',
    in: 'query',
    required: false,
    schema: { type: 'integer' },
    description: 'End (exclusive), epoch ms (default: now)',
  },
  {
    name: 'step',
    in: 'query',
    required: false,
    schema: { type: 'integer', enum: [60, 3600] },
    description: 'Bucket length in seconds; default 60 for ranges up to 6 hours, else 3600 (hourly rows)',
  },
];

/** The :channel path parameter, 1 to 256 characters. */
export function channelParam(event: H3Event): string {
  const channel = getRouterParam(event, 'channel', { decode: true }) ?? '';
  if (channel.length < 1 || channel.length > 256)
    throw new ApiError('INVALID_SCHEMA', 'channel: must be 1 to 256 characters');
  return channel;
}

/** The dimensions QoE rollups are kept by (filter[...] and breakdown's dimension). */
export const QOE_DIMENSION_NAMES = Object.keys(QOE_DIMENSIONS);
