// Jobs at wall-clock times: at the start of every minute, and once a day at a local hour. A timer armed for the
// next due time, re-armed after each run from the clock (so it never drifts), unref'd so it keeps no process
// alive. Instead of a cron library: node-cron works out every tick with Intl.DateTimeFormat, which pages in
// about 8 MB of ICU data that an idle m3w otherwise never touches.

export interface ScheduledJob {
  stop(): void;
}

/** Runs `job` at `next(now)`, then again at each next time after that, until stopped. */
export function repeatAt(next: (now: number) => number, job: () => void): ScheduledJob {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    const now = Date.now();
    const due = next(now);
    timer = setTimeout(
      () => {
        // A timer may fire a little early; wait out the rest instead of running twice for one due time.
        if (Date.now() < due) return arm();
        job();
        arm();
      },
      Math.max(0, due - now),
    );
    timer.unref();
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** The start of the next minute after `now` (epoch ms). */
export const nextMinuteStart = (now: number) => Math.floor(now / 60_000) * 60_000 + 60_000;

/** The next `hour`:00 local time after `now`. On a day when that hour does not exist (a DST jump), the time
 * the clock shows instead, as Date's local-time arithmetic gives it. */
export function nextLocalHour(now: number, hour: number): number {
  const d = new Date(now);
  const today = new Date(d.getFullYear(), d.getMonth(), d.getDate(), hour, 0, 0, 0).getTime();
  return today > now ? today : new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, hour, 0, 0, 0).getTime();
}

/** `job` at second 0 of every minute. */
export const everyMinute = (job: () => void) => repeatAt(nextMinuteStart, job);

/** `job` at the start of every hour. */
export const everyHour = (job: () => void) =>
  repeatAt((now) => Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000, job);

/** `job` once a day at `hour`:00 local time. */
export const dailyAt = (hour: number, job: () => void) => repeatAt((now) => nextLocalHour(now, hour), job);
