// The dashboard's column formatter: a table column (Breakdowns, Sessions) speaks one unit, chosen from its
// largest value as a chart axis does, so "1.2 s" never sits above "911 ms".
import { describe, expect, test } from 'vitest';
import { columnFormatter } from '../../web/src/format.ts';

const format = (unit: Parameters<typeof columnFormatter>[0], values: Array<number | null>) => {
  const f = columnFormatter(unit, values);
  return values.map((v) => f(v));
};

describe('one unit per column', () => {
  test('startup times in seconds when any reaches a second, milliseconds otherwise', () => {
    expect(format('ms', [1200, 911, 45, null])).toEqual(['1.2 s', '0.91 s', '0.05 s', '–']);
    expect(format('ms', [911, 45])).toEqual(['911 ms', '45 ms']);
  });

  test('bitrates in the largest value’s unit', () => {
    expect(format('bps', [2_500_000, 800_000, 64_000])).toEqual(['2.5 Mbit/s', '0.8 Mbit/s', '0.06 Mbit/s']);
    expect(format('bps', [800_000, 64_000])).toEqual(['800 kbit/s', '64 kbit/s']);
  });

  test('percentages and counts keep their usual format', () => {
    expect(format('pct', [12.5, 0.5])).toEqual(['12.5 %', '0.50 %']);
    expect(format('count', [12_000, 7])).toEqual(['12k', '7']);
  });
});
