// How the engine's jobs run: one at a time in this process, and each scheduled run only after it claims its bucket
// from the store's job_runs (singleton jobs: with several instances on one Postgres schema exactly one runs each
// bucket; SQLite always grants). A claim is renewed while its run goes on and finished after it.
import type { Logger } from '../observability/index.ts';
import type { JobClaim, Store } from '../store/index.ts';

/** Singleton jobs, as named in job_runs. The minute job also rolls up complete hours, finds moments and evaluates
 * alert rules: each step reads the rows the one before wrote, so they are one claim. */
export const JOBS = {
  minute: 'minute',
  staleSessions: 'stale-sessions',
  retention: 'retention',
  partitions: 'partitions',
} as const;
/** A claim not renewed for this long belongs to an instance that died; a live run renews it every third of it. */
export const JOB_LEASE_MS = 30_000;

export class JobRunner {
  private running: Promise<unknown> | null = null;
  /** Set by stop(): timers that fire afterwards start nothing. */
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  get stopped(): boolean {
    return this.stopping;
  }

  /** Runs one job at a time, so jobs never see each other's half-done work. */
  async exclusive<T>(job: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const p = job();
    this.running = p;
    try {
      return await p;
    } finally {
      if (this.running === p) this.running = null;
    }
  }

  /**
   * Runs a scheduled job if this instance wins its current bucket (else another instance has it: nothing to do),
   * with the claim's clock; the claim is renewed while the job runs and finished after it. A job that fails
   * leaves its claim unfinished: past the lease, the next run (on any instance) redoes it.
   */
  async singleton<T>(job: string, widthMs: number, run: (now: number) => Promise<T>): Promise<T | null> {
    const claim = await this.store.claimJobRun(job, { widthMs, leaseMs: JOB_LEASE_MS, now: Date.now() });
    if (!claim) return null;
    if (claim.redone.length > 0)
      this.logger.warn({ job, buckets: claim.redone }, 'redoing job runs an instance left unfinished');
    const renewal = setInterval(() => void this.renew(claim), JOB_LEASE_MS / 3);
    renewal.unref();
    let result: T;
    try {
      result = await run(claim.now);
    } finally {
      clearInterval(renewal);
    }
    if (!(await this.store.finishJobRun(claim)))
      this.logger.warn({ job, bucket: claim.bucket }, 'job run outlived its lease: another instance took it over');
    else this.logger.debug({ job, bucket: claim.bucket, redone: claim.redone }, 'job run finished');
    return result;
  }

  private async renew(claim: JobClaim): Promise<void> {
    try {
      if (!(await this.store.renewJobRun(claim)))
        this.logger.warn({ job: claim.job, bucket: claim.bucket }, 'job claim lost to another instance');
    } catch (err) {
      this.logger.warn({ err, job: claim.job }, 'job claim renewal failed');
    }
  }

  /** For timers: a failed job is logged, never thrown into the scheduler. Resolves when the job is over. */
  background(job: () => Promise<unknown>): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return this.exclusive(job).then(
      () => {},
      (err: unknown) => this.logger.error({ err }, 'analytics job failed'),
    );
  }

  /** From now on background() starts nothing. */
  stop(): void {
    this.stopping = true;
  }

  /** Resolves once no job is running (one that starts meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }
}
