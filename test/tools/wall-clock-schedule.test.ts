// The engine's wall-clock schedule: the minute job at the start of each minute, retention daily at 02:00 local
// time, worked out from the clock each time (no drift), and nothing more once stopped.
import { describe, expect, test } from 'vitest';
import { nextLocalHour, nextMinuteStart, repeatAt } from '../../src/tools/wall-clock-schedule.ts';

describe('due times', () => {
  test('the next minute starts after now, also when now is a minute start', () => {
    const m = Date.UTC(2026, 11, 6, 23, 59);
    expect(nextMinuteStart(m)).toBe(m + 60_000);
    expect(nextMinuteStart(m + 1)).toBe(m + 60_000);
    expect(nextMinuteStart(m + 59_999)).toBe(m + 60_000);
  });

  test("02:00 local is today's before it, tomorrow's from then on", () => {
    const at = (day: number, h: number, min = 0) => new Date(2026, 5, day, h, min).getTime();
    expect(nextLocalHour(at(10, 1, 59), 2)).toBe(at(10, 2));
    expect(nextLocalHour(at(10, 2), 2)).toBe(at(11, 2));
    expect(nextLocalHour(at(10, 23, 30), 2)).toBe(at(11, 2));
    // Across a month's end.
    expect(nextLocalHour(new Date(2026, 5, 30, 12).getTime(), 2)).toBe(new Date(2026, 6, 1, 2).getTime());
  });
});

test('a job runs once per due time, never before it, and not after it is stopped', async () => {
  // Tenth-of-a-second "minutes", so the test takes a moment; the arithmetic is the minute's.
  const step = 100;
  const runs: number[] = [];
  const job = repeatAt(
    (now) => Math.floor(now / step) * step + step,
    () => runs.push(Date.now()),
  );
  const deadline = Date.now() + 30_000;
  while (runs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  job.stop();
  const seen = runs.length;
  expect(seen).toBeGreaterThanOrEqual(3);
  const buckets = runs.map((t) => Math.floor(t / step));
  expect(new Set(buckets).size, 'one run per due time').toBe(runs.length);
  await new Promise((r) => setTimeout(r, 5 * step));
  expect(runs.length, 'runs after stop()').toBe(seen);
});
