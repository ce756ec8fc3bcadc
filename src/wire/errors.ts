// The error envelope every refused request answers with (the Error component of /openapi.json). The codes are
// errors.ts's ERROR_STATUS keys (test/wire-schemas.test.ts keeps them in step).
import Type from 'typebox';

export const ERROR_CODES = [
  'INVALID_API_KEY',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_SCHEMA',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMIT_EXCEEDED',
  'DATABASE_ERROR',
  'INTERNAL_ERROR',
  'NOT_READY',
  'FFMPEG_UNAVAILABLE',
  'INSUFFICIENT_STORAGE',
] as const;

/** One wrong field: its name (and, in a batch, the item's index) and what is wrong with it. */
export const ErrorDetail = Type.Object({
  index: Type.Optional(Type.Integer()),
  field: Type.String(),
  message: Type.String(),
});
export type ErrorDetail = Type.Static<typeof ErrorDetail>;

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(ERROR_CODES),
      message: Type.String(),
      timestamp: Type.Integer({ description: 'epoch ms' }),
      details: Type.Optional(Type.Array(ErrorDetail)),
    }),
  },
  { $id: 'Error' },
);
export type ErrorEnvelope = Type.Static<typeof ErrorEnvelope>;
