// Token-bucket rate limiting kept in memory. Each bucket holds up to `requests` tokens and refills at
// requests/windowSec per second, so a burst of a full window is allowed and then the steady rate.
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSec: number;
  /** Seconds until one request is allowed; 0 when allowed. */
  retryAfterSec: number;
}

interface Bucket {
  tokens: number;
  updated: number;
  /** Capacity; a bucket refills one full capacity per window. */
  limit: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly windowMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly requests: number,
    windowSec: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = windowSec * 1000;
    // Full buckets carry no information; dropping them bounds memory to recently active clients.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, windowSec * 1000)).unref();
  }

  take(key: string, limit = this.requests): RateDecision {
    const now = this.now();
    const perMs = limit / this.windowMs;
    let b = this.buckets.get(key);
    if (!b || b.limit !== limit) {
      b = { tokens: limit, updated: now, limit };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(limit, b.tokens + (now - b.updated) * perMs);
      b.updated = now;
    }
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    return {
      allowed,
      limit,
      remaining: Math.floor(b.tokens),
      resetSec: Math.ceil((limit - b.tokens) / perMs / 1000),
      retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)),
    };
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, b] of this.buckets)
      if (b.tokens + ((now - b.updated) * b.limit) / this.windowMs >= b.limit) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}
