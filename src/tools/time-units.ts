// Milliseconds in the time units the rollups, the live tracker and the analytics routes bucket by.
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** The start of the minute `t` falls in. */
export function minuteOf(t: number): number {
  return Math.floor(t / MINUTE) * MINUTE;
}
