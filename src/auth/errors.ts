// Errors the accounts part raises for its callers; the HTTP layer maps them to the error envelope in
// one place (http/errors.ts), so this part never imports http/.
export type AuthErrorCode = 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'INVALID_SCHEMA' | 'RATE_LIMIT_EXCEEDED';

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    /** For RATE_LIMIT_EXCEEDED: seconds until a retry may succeed. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}
