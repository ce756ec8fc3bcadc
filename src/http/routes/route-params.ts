// Path and query parameters shared by the route modules, validated once. Every path parameter is a TypeBox
// schema (PathParams) that gives its /openapi.json entry (pathParameters), with the same pattern or bounds the
// reader below checks.
import { getRouterParam, type H3Event } from 'h3';
import Type, { type TSchema } from 'typebox';
import { VIDEO_ID } from '../../media/index.ts';
import { ROOM_ID } from '../../rooms/index.ts';
import { ApiError } from '../errors.ts';
import { APP_ID } from '../../wire/apps.ts';
import { SESSION_ID_LENGTH } from '../../wire/sessions.ts';

/** Numeric ids of channels and rules: 1 to 15 digits. */
const MAX_RECORD_ID = 999_999_999_999_999;

/** The path parameters of the API, by what they name. */
export const PathParams = {
  appId: Type.String({ pattern: APP_ID.source, description: 'App id' }),
  keyPrefix: Type.String({
    pattern: '^(m3w_|env_)?[0-9a-f]{8}$',
    description: 'the public prefix only (a whole key is refused)',
  }),
  userId: Type.Integer({ minimum: 1, description: 'User id' }),
  recordId: Type.Integer({ minimum: 1, maximum: MAX_RECORD_ID }),
  videoId: Type.String({ pattern: VIDEO_ID.source, description: 'Video id' }),
  roomId: Type.String({ pattern: ROOM_ID.source, description: 'Room id' }),
  sessionId: Type.String({ minLength: SESSION_ID_LENGTH.min, maxLength: SESSION_ID_LENGTH.max }),
  channel: Type.String({ minLength: 1, maxLength: 256, description: 'Channel (stream) name' }),
  streamId: Type.String({ description: 'Channel (stream) name' }),
  renditionDir: Type.String({ description: 'A rendition (e.g. 720p) or thumbs' }),
  mediaFile: Type.String({ description: 'index.m3u8, init.mp4, seg_NNNNN.m4s, poster.jpg, sprite.jpg or thumbs.vtt' }),
};

/** The ?app= of a route that acts on one app (`description` says what else may name it). */
export const appQuery = (description = 'App id; may be omitted when the caller sees exactly one app') =>
  Type.Object({ app: Type.Optional(Type.String({ description })) });

/** OpenAPI path parameters generated from their schemas (each is required, as path parameters are). */
export function pathParameters(params: Record<string, TSchema>) {
  return Object.entries(params).map(([name, schema]) => {
    const { description, ...rest } = schema as TSchema & { description?: string };
    return {
      name,
      in: 'path',
      required: true,
      schema: JSON.parse(JSON.stringify(rest)) as Record<string, unknown>,
      ...(description ? { description } : {}),
    };
  });
}

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

/** The sessionId in the path (PathParams.sessionId), 1 to 128 characters. */
export function sessionIdOf(event: H3Event): string {
  const sessionId = getRouterParam(event, 'sessionId', { decode: true }) ?? '';
  const { min, max } = SESSION_ID_LENGTH;
  if (sessionId.length < min || sessionId.length > max)
    throw new ApiError('INVALID_SCHEMA', `sessionId must be ${min} to ${max} characters`);
  return sessionId;
}
