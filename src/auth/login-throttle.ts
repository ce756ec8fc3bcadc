// Limits password guessing without letting a guesser lock the real user out. Failures count per email and
// address together, with a delay that doubles after a few free tries: someone guessing from elsewhere slows
// only themselves. Each address also has a fixed cap across emails (a spray of accounts from one place).
// An attempt counts when it starts — so a burst of concurrent guesses is cut off before it queues up password
// hashing — and a successful one is refunded. Password changes use the same delays, per user.
export interface ThrottleLimits {
  /** Failures per subject (email + address, or user) before delays start. */
  freeFailures: number;
  /** The first delay; each further failure doubles it, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures per address (any email) within windowMs. */
  perAddress: number;
  /** How long a failure is remembered. */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = {
  freeFailures: 5,
  baseDelayMs: 15_000,
  maxDelayMs: 15 * 60_000,
  perAddress: 20,
  windowMs: 15 * 60_000,
};

interface Failures {
  count: number;
  /** When the last failure (or attempt) was counted. */
  lastAt: number;
  /** Fixed windows (address cap): when the count starts over. */
  resetAt: number;
}

const MAX_ENTRIES = 50_000;

export class LoginThrottle {
  private readonly subjects = new Map<string, Failures>();
  private readonly addresses = new Map<string, Failures>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until another sign-in attempt is allowed for this email from this address; 0 when allowed now. */
  retryAfter(email: string, address: string): number {
    const now = this.now();
    let wait = this.subjectWait(pairKey(email, address), now);
    const a = this.addresses.get(address);
    if (a && a.resetAt > now && a.count >= this.limits.perAddress) wait = Math.max(wait, a.resetAt - now);
    return Math.ceil(wait / 1000);
  }

  /** Counts a sign-in attempt that is about to be checked. */
  begin(email: string, address: string): void {
    const now = this.now();
    this.count(pairKey(email, address), now);
    const a = this.addresses.get(address);
    if (!a || a.resetAt <= now)
      this.addresses.set(address, { count: 1, lastAt: now, resetAt: now + this.limits.windowMs });
    else a.count += 1;
    this.bound(now);
  }

  /** The sign-in succeeded: this email and address start afresh, and the address gets its attempt back. */
  succeed(email: string, address: string): void {
    this.subjects.delete(pairKey(email, address));
    const a = this.addresses.get(address);
    if (a && a.count > 0) a.count -= 1;
  }

  /** Seconds until another attempt is allowed for a subject of its own (a user changing their password). */
  retryAfterFor(subject: string): number {
    return Math.ceil(this.subjectWait(`own:${subject}`, this.now()) / 1000);
  }

  beginFor(subject: string): void {
    const now = this.now();
    this.count(`own:${subject}`, now);
    this.bound(now);
  }

  succeedFor(subject: string): void {
    this.subjects.delete(`own:${subject}`);
  }

  private subjectWait(key: string, now: number): number {
    const s = this.subjects.get(key);
    if (!s || s.resetAt <= now || s.count < this.limits.freeFailures) return 0;
    const delay = Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** (s.count - this.limits.freeFailures));
    return Math.max(0, s.lastAt + delay - now);
  }

  private count(key: string, now: number): void {
    const s = this.subjects.get(key);
    // A failure is remembered for windowMs after the last one, so slow guessing does not start over.
    if (!s || s.resetAt <= now) this.subjects.set(key, { count: 1, lastAt: now, resetAt: now + this.limits.windowMs });
    else {
      s.count += 1;
      s.lastAt = now;
      s.resetAt = now + Math.max(this.limits.windowMs, this.limits.maxDelayMs);
    }
  }

  /** Bounds memory under a spray of addresses: expired entries carry nothing. */
  private bound(now: number): void {
    for (const map of [this.subjects, this.addresses])
      if (map.size > MAX_ENTRIES) for (const [k, v] of map) if (v.resetAt <= now) map.delete(k);
  }
}

const pairKey = (email: string, address: string) => `${email}\n${address}`;
