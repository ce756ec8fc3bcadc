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
