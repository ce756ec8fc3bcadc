// The minute job: rolls up every complete minute not yet rolled up (catching up after downtime), recomputes
// minutes that late events touched, then the hours those minutes complete or change, then hands the new
// minutes to the moment watch.
import type { ResolvedConfig } from '../config/index.ts';
import { LiveTracker } from '../live/index.ts';
import type { Store } from '../store/index.ts';
import { HOUR, MINUTE } from '../tools/time-units.ts';
import type { MomentWatch } from './moment-watch.ts';
import { rollupWindow } from './rollup-window.ts';
import { SliceTimer, yieldToLoop } from './slice-timer.ts';

/** Late events older than this no longer change rollups (events may arrive up to 24 h late). */
const LATE_LIMIT_MS = 24 * HOUR;
const STATE_NEXT_MINUTE = 'rollup.next_minute';

export interface MinuteJobReport {
  minutes: number;
  recomputedFrom: number | null;
  hours: number;
  durationMs: number;
  /** Longest stretch without yielding to the event loop, and the stage that ended it. */
  longestSliceMs: number;
  longestSliceAt: string;
}

export interface MinuteJobParts {
  store: Store;
  config: ResolvedConfig;
  live: LiveTracker;
  moments: MomentWatch;
}

/** One run of the minute job at `now`; the caller makes sure no other job runs meanwhile. */
export async function minuteJob(
  { store, config, live, moments }: MinuteJobParts,
  now: number,
): Promise<MinuteJobReport> {
  const started = performance.now();
  const timer = new SliceTimer();
  const target = Math.floor(now / MINUTE) * MINUTE;
  const stored = await store.getEngineState(STATE_NEXT_MINUTE);
  const oldest = target - config.minuteRollupDays * 24 * HOUR;
  const next = Math.max(stored ?? target - MINUTE, oldest);
  let recomputeFrom: number | null = null;
  const dirty = await store.takeDirtyStreamMinute(next);
  if (dirty !== null) recomputeFrom = Math.max(dirty, target - LATE_LIMIT_MS, oldest);
  const from = recomputeFrom !== null ? Math.min(recomputeFrom, next) : next;
  let minutes = 0;
  let hours = 0;
  if (from < target) {
    // With several instances on one database this process's tracker holds only the plays it took in: count the
    // open plays the database holds instead (read after the dirty minutes were taken, so an event committed later
    // marks its minute again).
    const open = store.sharedByInstances ? await trackerFromStore(store) : live;
    // Hour-sized windows keep memory bounded when catching up a long gap.
    for (let w = from; w < target; w = Math.min(target, Math.floor(w / HOUR) * HOUR + HOUR)) {
      const wEnd = Math.min(target, Math.floor(w / HOUR) * HOUR + HOUR);
      const rows = await rollupWindow(store, open, 60_000, w, wEnd, timer);
      timer.mark('minute rollup');
      await store.replaceStreamRollups(60_000, w, wEnd, rows);
      timer.mark('minute rows written');
      minutes += (wEnd - w) / MINUTE;
      await yieldToLoop();
      timer.reset();
    }
    // The dirty minutes taken above are written now; an adapter that kept them for a crashed run forgets them.
    await store.settleDirtyStreamMinutes();
    await store.setEngineState(STATE_NEXT_MINUTE, target);
    // Hours that are complete and were touched.
    for (let h = Math.floor(from / HOUR) * HOUR; h + HOUR <= target; h += HOUR) {
      const rows = await rollupWindow(store, open, 3_600_000, h, h + HOUR, timer);
      timer.mark('hour rollup');
      await store.replaceStreamRollups(3_600_000, h, h + HOUR, rows);
      timer.mark('hour rows written');
      hours++;
      await yieldToLoop();
      timer.reset();
    }
    await yieldToLoop();
    timer.reset();
    await moments.detect(Math.max(next, target - 10 * MINUTE), target);
    timer.mark('moments');
  }
  return {
    minutes,
    recomputedFrom: recomputeFrom,
    hours,
    durationMs: performance.now() - started,
    longestSliceMs: timer.longest,
    longestSliceAt: timer.longestAt,
  };
}

/** A tracker holding every open play of the database (every instance's), for one run of the job. */
async function trackerFromStore(store: Store): Promise<LiveTracker> {
  const tracker = new LiveTracker();
  for (const s of await store.listOpenPlaySessions()) tracker.open(s);
  return tracker;
}
