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

export interface SampleDecision {
  log: boolean;
  /** Lines of this kind left out since the last one logged. */
  suppressed: number;
}

/**
 * Rejected requests (4xx) repeat in floods: per kind (status, route, address) the first `burst` of each
 * window are logged, then one in `every`, each carrying how many were left out, so a flood costs a few lines
 * a minute and still shows up. The metrics count every request.
 */
export class RejectionSampler {
  private readonly kinds = new Map<string, { windowStart: number; seen: number; suppressed: number }>();

  constructor(
    private readonly burst = 10,
    private readonly every = 100,
    private readonly windowMs = 60_000,
    private readonly maxKinds = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  admit(kind: string): SampleDecision {
    const now = this.now();
    if (!this.kinds.has(kind) && this.kinds.size >= this.maxKinds) {
      for (const [k, v] of this.kinds) if (now - v.windowStart >= this.windowMs) this.kinds.delete(k);
      // Still full: a spray of addresses shares one kind, so memory stays bounded.
      if (this.kinds.size >= this.maxKinds) kind = 'overflow';
    }
    const k = this.kinds.get(kind);
    if (!k || now - k.windowStart >= this.windowMs) {
      const suppressed = k?.suppressed ?? 0;
      this.kinds.set(kind, { windowStart: now, seen: 1, suppressed: 0 });
      return { log: true, suppressed };
    }
    k.seen += 1;
    if (k.seen <= this.burst || k.seen % this.every === 0) {
      const suppressed = k.suppressed;
      k.suppressed = 0;
      return { log: true, suppressed };
    }
    k.suppressed += 1;
    return { log: false, suppressed: 0 };
  }
}
