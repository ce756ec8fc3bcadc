// The startup-time histogram: any quantile read from it is within 5 % of the exact one, and histograms
// stored as deltas add up like the dense ones.
import { describe, expect, test } from 'vitest';
import {
  addEncodedHistogram,
  addPairs,
  emptyHistogram,
  encodeHistogram,
  encodePairs,
  histogramQuantile,
  startupBucket,
} from '../../src/tools/startup-histogram.ts';
import { prng } from '../helpers/prng.ts';

describe('startup histogram', () => {
  test('p50, p95 and p99 stay within 5 % of the exact nearest-rank value', () => {
    const rand = prng(21);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 2000);
      const scale = Math.exp(rand() * 10);
      const values = Array.from({ length: n }, () => 1 + Math.floor(scale * -Math.log(1 - rand())));
      const hist = emptyHistogram();
      for (const v of values) hist[startupBucket(v)]!++;
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.5, 0.95, 0.99]) {
        const exact = sorted[Math.max(1, Math.ceil(q * n)) - 1]!;
        const got = histogramQuantile(hist, q)!;
        expect(Math.abs(got - exact) / exact, `trial ${trial} q ${q}: ${got} vs ${exact}`).toBeLessThanOrEqual(0.05);
      }
    }
  });

  test('deltas with negative counts merge into the stored form', () => {
    const stored = encodeHistogram(Object.assign(emptyHistogram(), { 3: 2, 10: 5 }));
    const merged = addPairs(stored, encodePairs([10, -5, 4, 1, 3, -1]));
    const dense = emptyHistogram();
    addEncodedHistogram(dense, merged);
    expect(dense.map((c, i) => [i, c]).filter(([, c]) => c !== 0)).toEqual([
      [3, 1],
      [4, 1],
    ]);
    expect(histogramQuantile(emptyHistogram(), 0.5)).toBeNull();
  });
});
