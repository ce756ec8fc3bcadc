// Shared OpenAPI pieces: the standard error responses (the envelope is wire/errors.ts) and the security requirements.
import { CsvText } from '../../wire/fields.ts';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (INVALID_SCHEMA); the message names the field',
  401: 'Not authenticated: missing, unknown or revoked API key (INVALID_API_KEY), or no valid sign-in (UNAUTHORIZED)',
  403: 'Not allowed (FORBIDDEN): the key lacks the scope, the user the role, or a cookie request the CSRF header',
  404: 'Not found (NOT_FOUND)',
  413: 'Body over the size limit (PAYLOAD_TOO_LARGE)',
  415: 'Content-Type is not application/json, or Content-Encoding is not gzip (UNSUPPORTED_MEDIA_TYPE)',
  429: 'Rate limit exceeded (RATE_LIMIT_EXCEEDED); see Retry-After',
  503: 'Database unavailable (DATABASE_ERROR), or ffmpeg not installed for video routes (FFMPEG_UNAVAILABLE)',
  409: 'The video has no playable rendition yet (NOT_READY)',
  507: 'Not enough free disk for the upload (INSUFFICIENT_STORAGE); the message has the numbers',
};

export function errorResponses(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: DESCRIPTIONS[s] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  );
}

/** A CSV answer (wire CsvText). */
export const csvResponse = (description: string) => ({ description, content: { 'text/csv': { schema: CsvText } } });

/** An application/json content map, for request bodies and responses. */
export const jsonContent = (schema: unknown) => ({ 'application/json': { schema } });

/** Routes for signed-in people: a bearer access token, or the session cookie (browsers). */
export const userBearer = [{ bearer: [] }, { cookie: [] }];
