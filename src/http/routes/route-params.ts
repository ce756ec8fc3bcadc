// Path and query parameters shared by the route modules, validated once.
import { getRouterParam, type H3Event } from 'h3';
import { ApiError } from '../errors.ts';
import { APP_ID } from '../wire/apps.ts';
import { SESSION_ID_LENGTH } from '../wire/sessions.ts';

export function userIdParam(event: H3Event): number {
  const raw = getRouterParam(event, 'id') ?? '';
  if (!/^[1-9]\d{0,15}$/.test(raw))
    throw new ApiError('INVALID_SCHEMA', `user id must be a positive integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw);
}

export function appIdParam(event: H3Event, name = 'id'): string {
  const raw = getRouterParam(event, name, { decode: true }) ?? '';
  if (!APP_ID.test(raw)) throw new ApiError('NOT_FOUND', `no app ${JSON.stringify(raw.slice(0, 64))}`);
  return raw;
}

/** An optional integer query parameter within bounds. */
export function intQuery(event: H3Event, name: string, min: number, max: number): number | undefined {
  const raw = event.url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new ApiError(
      'INVALID_SCHEMA',
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
  return Number(raw);
}

/** A positive integer id in the path (channels, rules); anything else is a 404 naming what was asked for. */
export function numericId(event: H3Event, what: string): number {
  const raw = getRouterParam(event, 'id') ?? '';
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw new ApiError('NOT_FOUND', `no ${what} ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw);
}

/** The sessionId in the path (sessionIdParam in the OpenAPI entry), 1 to 128 characters. */
export function sessionIdOf(event: H3Event): string {
  const sessionId = getRouterParam(event, 'sessionId', { decode: true }) ?? '';
  const { min, max } = SESSION_ID_LENGTH;
  if (sessionId.length < min || sessionId.length > max)
    throw new ApiError('INVALID_SCHEMA', `sessionId must be ${min} to ${max} characters`);
  return sessionId;
}
