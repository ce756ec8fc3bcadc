// Limits failed logins per address and per email (fixed windows): guessing passwords gets slow, while a
// user who mistypes a few times is not locked out. A successful login clears that email's count.
export interface ThrottleLimits {
  perEmail: number;
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { perEmail: 5, perAddress: 20, windowMs: 15 * 60_000 };

interface Window {
  failures: number;
  resetAt: number;
}

export class LoginThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfter(email: string, address: string): number {
    const now = this.now();
    let wait = 0;
    for (const [key, max] of this.keys(email, address)) {
      const w = this.windows.get(key);
      if (w && w.resetAt > now && w.failures >= max) wait = Math.max(wait, Math.ceil((w.resetAt - now) / 1000));
    }
    return wait;
  }

  fail(email: string, address: string): void {
    const now = this.now();
    for (const [key] of this.keys(email, address)) {
      const w = this.windows.get(key);
      if (!w || w.resetAt <= now) this.windows.set(key, { failures: 1, resetAt: now + this.limits.windowMs });
      else w.failures += 1;
    }
    // Bound memory under a spray of addresses: expired windows carry nothing.
    if (this.windows.size > 50_000) for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  succeed(email: string): void {
    this.windows.delete(`email:${email}`);
  }

  private keys(email: string, address: string): Array<[string, number]> {
    return [
      [`email:${email}`, this.limits.perEmail],
      [`addr:${address}`, this.limits.perAddress],
    ];
  }
}
