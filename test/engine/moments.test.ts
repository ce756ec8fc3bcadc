// Moment detection on synthetic minute series: injected spikes and drops are found within two minutes,
// stationary Gaussian noise over 10,000 minutes raises at most one false moment, low volume raises none.
import { describe, expect, test } from 'vitest';
import { detectMoments, type DetectorOptions, type SeriesPoint } from '../../src/engine/index.ts';

const MIN = 60_000;
const OPTS: DetectorOptions = { baselineMinutes: 30, zThreshold: 3, minVolume: 20, kinds: ['spike', 'drop'], minSd: 1 };

function gaussian(seed: number): () => number {
  let a = seed;
  const uniform = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function noise(minutes: number, mean: number, sd: number, seed: number): SeriesPoint[] {
  const g = gaussian(seed);
  return Array.from({ length: minutes }, (_, i) => {
    const value = Math.round(mean + sd * g());
    return { t: i * MIN, value, volume: value };
  });
}

describe('moments', () => {
  test('stationary Gaussian noise over 10,000 minutes raises at most one false moment', () => {
    for (const seed of [1, 2, 3]) {
      const found = detectMoments(noise(10_000, 500, 20, seed), OPTS);
      expect(found.length, `seed ${seed}: ${JSON.stringify(found)}`).toBeLessThanOrEqual(1);
    }
  });

  test('an injected spike is found within 2 minutes, as one moment for its whole length', () => {
    const series = noise(200, 500, 20, 4);
    for (let i = 120; i < 126; i++) series[i]!.value = series[i]!.volume = 500 + 90; // +4.5 sd for six minutes
    const found = detectMoments(series, OPTS);
    expect(found).toHaveLength(1);
    const m = found[0]!;
    expect(m.kind).toBe('spike');
    expect(m.startedAt).toBeGreaterThanOrEqual(120 * MIN);
    expect(m.startedAt).toBeLessThanOrEqual(121 * MIN);
    expect(m.endedAt).toBe(126 * MIN);
    expect(m.peakValue).toBe(590);
    expect(m.baseline).toBeGreaterThan(480);
    expect(m.baseline).toBeLessThan(520);
    expect(m.zScore).toBeGreaterThan(3);
  });

  test('a sharp one-minute spike is found at once', () => {
    const series = noise(100, 500, 20, 5);
    series[80]!.value = series[80]!.volume = 800;
    const found = detectMoments(series, OPTS);
    expect(found.map((m) => [m.kind, m.startedAt, m.endedAt])).toEqual([['spike', 80 * MIN, 81 * MIN]]);
  });

  test('an injected drop is found within 2 minutes', () => {
    const series = noise(200, 500, 20, 6);
    for (let i = 150; i < 200; i++) series[i]!.value = series[i]!.volume = 300; // the audience halves and stays
    const found = detectMoments(series, OPTS);
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found[0]!.kind).toBe('drop');
    expect(found[0]!.startedAt).toBeGreaterThanOrEqual(150 * MIN);
    expect(found[0]!.startedAt).toBeLessThanOrEqual(151 * MIN);
  });

  test('below the minimum volume nothing is raised, however sharp', () => {
    const series = noise(100, 3, 1, 7).map((p) => ({
      ...p,
      value: Math.max(0, p.value!),
      volume: Math.max(0, p.value!),
    }));
    series[80]!.value = series[80]!.volume = 15;
    expect(detectMoments(series, OPTS)).toEqual([]);
  });

  test('spike-only metrics ignore drops', () => {
    const series = noise(100, 500, 20, 8);
    for (let i = 70; i < 80; i++) series[i]!.value = 100;
    expect(detectMoments(series, { ...OPTS, kinds: ['spike'] })).toEqual([]);
  });
});

describe('moments on a lasting change of level', () => {
  test('a drop that lasts becomes the new normal and its moment ends', () => {
    const series = noise(400, 500, 20, 9);
    for (let i = 150; i < 400; i++)
      series[i] = { ...series[i]!, value: series[i]!.value! - 250, volume: series[i]!.value! - 250 };
    const found = detectMoments(series, OPTS);
    expect(found[0]!.kind).toBe('drop');
    expect(found[0]!.endedAt).toBeLessThan(250 * MIN);
  });
});

describe('a sustained change is one moment, not a series', () => {
  /** Viewers around `from` for an hour, then rising by one a minute to `to`, then staying there. */
  function ramp(from: number, to: number, seed: number): SeriesPoint[] {
    const g = gaussian(seed);
    return Array.from({ length: 180 }, (_, i) => {
      const level = i < 60 ? from : Math.min(to, from + (i - 60));
      const value = Math.max(0, Math.round(level + 0.8 * g()));
      return { t: i * MIN, value, volume: value };
    });
  }

  test('a steady rise from 20 to 35 viewers in fifteen minutes, which then holds, is one spike', () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const found = detectMoments(ramp(20, 35, seed), OPTS);
      expect(
        found.map((m) => m.kind),
        `seed ${seed}: ${JSON.stringify(found)}`,
      ).toEqual(['spike']);
      expect(found[0]!.startedAt).toBeGreaterThanOrEqual(60 * MIN);
      expect(found[0]!.startedAt).toBeLessThan(75 * MIN);
      expect(found[0]!.peakValue).toBeGreaterThanOrEqual(34);
    }
  });

  test('a level that steps up and wobbles back below the threshold for a minute or two stays one moment', () => {
    const series = noise(200, 500, 20, 16);
    for (let i = 100; i < 200; i++)
      series[i]!.value = series[i]!.volume = (i === 110 || i === 111 ? 520 : 650) + (i % 3);
    const found = detectMoments(series, OPTS);
    expect(found.map((m) => [m.kind, m.startedAt])).toEqual([['spike', 100 * MIN]]);
  });

  test('two incidents an hour apart are two moments', () => {
    const series = noise(240, 500, 20, 17);
    for (const start of [100, 170]) for (let i = start; i < start + 4; i++) series[i]!.value = series[i]!.volume = 650;
    const found = detectMoments(series, OPTS);
    expect(found.map((m) => [m.kind, m.startedAt])).toEqual([
      ['spike', 100 * MIN],
      ['spike', 170 * MIN],
    ]);
  });

  test('over 15-minute buckets, times and the merge gap follow the bucket', () => {
    const B = 15 * MIN;
    const series = noise(100, 500, 20, 18).map((p, i) => ({ ...p, t: i * B }));
    for (let i = 60; i < 63; i++) series[i]!.value = series[i]!.volume = 650;
    series[65]!.value = series[65]!.volume = 650; // two quiet buckets, then the same change again
    const found = detectMoments(series, { ...OPTS, bucketMs: B });
    expect(found.map((m) => [m.kind, m.startedAt, m.endedAt])).toEqual([['spike', 60 * B, 66 * B]]);
  });
});
