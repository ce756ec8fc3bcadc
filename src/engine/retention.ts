// Retention: raw SDK and play sessions after retentionDays, minute rollups after minuteRollupDays (their
// hourly rows are kept from the start), hourly rollups and moments after hourlyRollupDays. Deleted in small
// batches with a yield between them so ingestion and reads keep their share of the database, then free pages
// are handed back to the operating system.
import type { ResolvedConfig } from '../config/index.ts';
import type { RetentionCounts, RetentionCutoffs, Store } from '../store/index.ts';

const DAY = 86_400_000;
/**
 * Rows per delete batch (per kind of row) adapt so one batch takes about TARGET_BATCH_MS: on SQLite a batch runs
 * on the main thread and every request waits for it, however large the tables make each delete.
 */
const MIN_BATCH = 50;
const MAX_BATCH = 2_000;
const TARGET_BATCH_MS = 10;
const FREE_PAGES_PER_STEP = 256;

export interface RetentionReport {
  dryRun: boolean;
  cutoffs: RetentionCutoffs;
  counts: RetentionCounts;
  durationMs: number;
}

export function retentionCutoffs(config: ResolvedConfig, now: number): RetentionCutoffs {
  return {
    raw: now - config.retentionDays * DAY,
    minuteRollups: now - config.minuteRollupDays * DAY,
    hourlyRollups: now - config.hourlyRollupDays * DAY,
  };
}

/** The next batch size after one of `current` rows took `tookMs`: proportional, at most doubling. */
export function nextBatchSize(current: number, tookMs: number): number {
  const scaled = tookMs > 0 ? Math.round((current * TARGET_BATCH_MS) / tookMs) : current * 2;
  return Math.min(MAX_BATCH, current * 2, Math.max(MIN_BATCH, scaled));
}

export async function runRetention(store: Store, cutoffs: RetentionCutoffs, dryRun: boolean): Promise<RetentionReport> {
  const started = performance.now();
  if (dryRun)
    return { dryRun, cutoffs, counts: await store.countExpired(cutoffs), durationMs: performance.now() - started };
  const total: RetentionCounts = { sessions: 0, playSessions: 0, minuteRows: 0, hourRows: 0, moments: 0 };
  let batch = MIN_BATCH;
  for (;;) {
    const began = performance.now();
    const n = await store.deleteExpired(cutoffs, batch);
    batch = nextBatchSize(batch, performance.now() - began);
    let any = 0;
    for (const k of Object.keys(total) as Array<keyof RetentionCounts>) {
      total[k] += n[k];
      any += n[k];
    }
    if (any === 0) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const freeable = total.sessions + total.playSessions + total.minuteRows + total.hourRows;
  for (let i = 0; i < Math.ceil(freeable / 1000); i++) {
    await store.releaseFreePages(FREE_PAGES_PER_STEP);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { dryRun, cutoffs, counts: total, durationMs: performance.now() - started };
}
