// Retention: raw SDK and play sessions after retentionDays, minute rollups after minuteRollupDays (their
// hourly rows are kept from the start), hourly rollups and moments after hourlyRollupDays. Deleted in small
// batches with a yield between them so ingestion keeps its share of the database, then free pages are
// handed back to the operating system.
import type { ResolvedConfig } from '../config/index.ts';
import type { RetentionCounts, RetentionCutoffs, Store } from '../store/index.ts';

const DAY = 86_400_000;
const BATCH = 2_000;
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

export async function runRetention(store: Store, cutoffs: RetentionCutoffs, dryRun: boolean): Promise<RetentionReport> {
  const started = performance.now();
  if (dryRun)
    return { dryRun, cutoffs, counts: await store.countExpired(cutoffs), durationMs: performance.now() - started };
  const total: RetentionCounts = { sessions: 0, playSessions: 0, minuteRows: 0, hourRows: 0, moments: 0 };
  for (;;) {
    const n = await store.deleteExpired(cutoffs, BATCH);
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
