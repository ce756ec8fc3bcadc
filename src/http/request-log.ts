// What the request log may record of a request: the path with anything shaped like a secret replaced, and
// path and user agent cut to a bounded length, so no log line carries a key or grows with the request.
import { publicPrefix } from '../auth/index.ts';

/** Longest path or user agent the log keeps; the rest is cut and marked. */
export const MAX_LOGGED_CHARS = 256;

const WHOLE_KEY = /(m3w_[0-9a-f]{8})_[^/]*/g;

export function capForLog(text: string): string {
  return text.length <= MAX_LOGGED_CHARS ? text : `${text.slice(0, MAX_LOGGED_CHARS)}…(${text.length} chars)`;
}

/**
 * The path as logged. A `:prefix` parameter that is not a public key prefix may be a whole key typed into the
 * URL (M3W_API_KEY can be any text), so it is replaced; so is anything shaped like a generated key.
 */
export function loggablePath(pathname: string, params: Record<string, string> | undefined): string {
  let logged = pathname;
  const prefix = params?.prefix;
  if (prefix !== undefined && publicPrefix(safeDecode(prefix)) === null)
    logged = logged
      .split('/')
      .map((segment) => (segment === prefix ? '[redacted]' : segment))
      .join('/');
  return capForLog(logged.replace(WHOLE_KEY, '$1_[redacted]'));
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
