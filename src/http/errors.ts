// The one place where anything thrown maps to the error envelope and an HTTP status.
// No stack trace or internal message ever reaches a client.
import { HTTPError } from 'h3';
import { AuthError } from '../auth/index.ts';
import { StoreError, StoreInputError } from '../store/index.ts';
import { MediaError } from '../media/index.ts';

export const ERROR_STATUS = {
  INVALID_API_KEY: 401,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_SCHEMA: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  DATABASE_ERROR: 503,
  // Video library
  NOT_READY: 409,
  FFMPEG_UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

import type { ErrorDetail } from '../wire/errors.ts';

export type { ErrorDetail };

/** An error meant for the client: its message is safe to show and names what to fix. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; timestamp: number; details?: ErrorDetail[] };
}

/** Maps anything thrown to a client-safe ApiError; `internal` is set when the cause was not the client's fault. */
export function toApiError(thrown: unknown): { error: ApiError; internal: unknown } {
  const cause = thrown instanceof HTTPError && thrown.cause !== undefined ? thrown.cause : thrown;
  if (cause instanceof ApiError) return { error: cause, internal: null };
  if (cause instanceof AuthError) {
    const headers = cause.retryAfterSec === undefined ? undefined : { 'retry-after': String(cause.retryAfterSec) };
    return { error: new ApiError(cause.code, cause.message, undefined, headers), internal: null };
  }
  if (cause instanceof MediaError) return { error: new ApiError(cause.code, cause.message), internal: null };
  if (cause instanceof StoreInputError)
    return {
      error: new ApiError('INVALID_SCHEMA', 'text must not contain the NUL character (\\u0000)'),
      internal: null,
    };
  if (cause instanceof StoreError)
    return { error: new ApiError('DATABASE_ERROR', 'the database is unavailable; retry later'), internal: cause };
  // h3's own refusals (no route, malformed URL) arrive as HTTPError or a plain { status } object.
  const status = (cause as { status?: unknown } | null)?.status;
  if (status === 404 || status === 405) return { error: new ApiError('NOT_FOUND', 'no such route'), internal: null };
  if (status === 400) return { error: new ApiError('INVALID_SCHEMA', 'malformed request URL'), internal: null };
  return { error: new ApiError('INTERNAL_ERROR', 'internal error; it has been logged'), internal: cause };
}

export function errorEnvelope(error: ApiError): ErrorEnvelope {
  return {
    error: {
      code: error.code,
      message: error.message,
      timestamp: Date.now(),
      ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
    },
  };
}
