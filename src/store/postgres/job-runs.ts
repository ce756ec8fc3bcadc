// Singleton jobs across instances on Postgres: each run of a job claims its bucket in job_runs, inside a
// transaction holding pg_try_advisory_xact_lock for that job (in this schema), so two instances never claim at once
// and the loser simply skips. The bucket and every time come from the database clock (now()), never from an
// instance's. A claim unfinished past its lease (renewed while the run goes on) is an instance that died: the next
// claim of the job, on any instance, takes it over and the run redoes it.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { JobClaim, JobClaimRequest } from '../types.ts';
import { q, transaction } from './database.ts';

/** First key of the claim lock ("m3w:jobs"); the second is the hash of schema and job name. */
const JOB_LOCK_CLASS = 0x6d33_7702;
/** Finished runs are kept this long (for operators and tests), then pruned by the job's next claims. */
const KEEP_FINISHED_MS = 7 * 24 * 3_600_000;
/** The database clock in epoch ms (the transaction's start). */
const DB_NOW = '(floor(extract(epoch from now()) * 1000))::int8';

/** An id for this process's claims: host, pid (so an operator can find it) and a random part. */
export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class PostgresJobRuns {
  constructor(
    private readonly pool: pg.Pool,
    readonly instanceId: string,
  ) {}

  claim(job: string, request: JobClaimRequest): Promise<JobClaim | null> {
    return transaction(this.pool, 'claimJobRun', async (c) => {
      // Advisory locks are per database: the schema is part of the key, so deployments sharing one don't collide.
      const head = await c.query<{ got: boolean; now: number }>(
        `SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2)) AS got, ${DB_NOW} AS now`,
        [JOB_LOCK_CLASS, job],
      );
      const { got, now } = head.rows[0]!;
      if (!got) return null; // another instance is claiming this job right now
      const bucket = Math.floor(now / request.widthMs) * request.widthMs;
      const staleBefore = now - request.leaseMs;
      const unfinished = await c.query<{ bucket: number; claimed_at: number }>(
        'SELECT bucket, claimed_at FROM job_runs WHERE job = $1 AND finished_at IS NULL',
        [job],
      );
      // A run within its lease is going on somewhere (a long catch-up): one run of a job at a time.
      if (unfinished.rows.some((r) => r.claimed_at >= staleBefore)) return null;
      const mine = await c.query(
        `INSERT INTO job_runs (job, bucket, claimed_by, claimed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (job, bucket) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at,
           attempts = job_runs.attempts + 1
         WHERE job_runs.finished_at IS NULL AND job_runs.claimed_at < $5`,
        [job, bucket, this.instanceId, now, staleBefore],
      );
      // Done already (by whichever instance): nothing to run. Stale earlier claims wait for the next bucket's run.
      if (mine.rowCount === 0) return null;
      const redone = await c.query<{ bucket: number }>(
        `UPDATE job_runs SET claimed_by = $1, claimed_at = $2, attempts = attempts + 1
         WHERE job = $3 AND bucket < $4 AND finished_at IS NULL AND claimed_at < $5 RETURNING bucket`,
        [this.instanceId, now, job, bucket, staleBefore],
      );
      await c.query('DELETE FROM job_runs WHERE job = $1 AND bucket < $2 AND finished_at IS NOT NULL', [
        job,
        bucket - KEEP_FINISHED_MS,
      ]);
      return { job, bucket, now, redone: redone.rows.map((r) => r.bucket).sort((a, b) => a - b) };
    });
  }

  async renew(claim: JobClaim): Promise<boolean> {
    const r = await q(
      this.pool,
      'renewJobRun',
      `UPDATE job_runs SET claimed_at = ${DB_NOW}
       WHERE job = $1 AND bucket = ANY($2::int8[]) AND claimed_by = $3 AND finished_at IS NULL`,
      [claim.job, [claim.bucket, ...claim.redone], this.instanceId],
    );
    return r.rowCount === 1 + claim.redone.length;
  }

  async finish(claim: JobClaim): Promise<boolean> {
    const r = await q(
      this.pool,
      'finishJobRun',
      `UPDATE job_runs SET finished_at = ${DB_NOW}
       WHERE job = $1 AND bucket = ANY($2::int8[]) AND claimed_by = $3 AND finished_at IS NULL`,
      [claim.job, [claim.bucket, ...claim.redone], this.instanceId],
    );
    return r.rowCount === 1 + claim.redone.length;
  }
}
