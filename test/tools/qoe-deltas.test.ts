// The QoE rollup arithmetic on its own: deltas summed per group equal rows computed from scratch, and a
// session added then subtracted leaves nothing behind.
import { describe, expect, test } from 'vitest';
import { QoeDeltaAccumulator, qoeRowsFromSessions, type QoeSourceLayout } from '../../src/tools/qoe-deltas.ts';
import { startupBucket } from '../../src/tools/startup-histogram.ts';
import { prng } from '../helpers/prng.ts';

// A layout of our own, unlike the store's, so nothing works by matching positions by accident.
const L: QoeSourceLayout = {
  app: 11,
  timestamp: 0,
  startup: 3,
  rebuffer: 4,
  play: 5,
  dropped: 6,
  seeks: 7,
  errors: 8,
  bitrate: 9,
  dimensions: [
    ['contentId', 1],
    ['country', 2],
    ['cdn', 10],
  ],
};

function sessions(n: number, seed: number): unknown[][] {
  const rand = prng(seed);
  const maybe = (v: number) => (rand() < 0.2 ? null : v);
  return Array.from({ length: n }, () => [
    1_700_000_000_000 + Math.floor(rand() * 3 * 3_600_000),
    rand() < 0.1 ? null : `c${Math.floor(rand() * 5)}`,
    rand() < 0.1 ? '' : ['US', 'DE'][Math.floor(rand() * 2)],
    maybe(Math.floor(rand() * 5000)),
    maybe(Math.floor(rand() * 900)),
    maybe(Math.floor(rand() * 1e6)),
    maybe(Math.floor(rand() * 40)),
    maybe(Math.floor(rand() * 4)),
    maybe(rand() < 0.3 ? 1 : 0),
    maybe(Math.floor(rand() * 8e6)),
    ['a', 'b'][Math.floor(rand() * 2)],
    rand() < 0.5 ? 'app1' : 'app2',
  ]);
}

/** The accumulator's deltas as rows of the from-scratch shape (dense histogram), keyed like it. */
function accumulated(acc: QoeDeltaAccumulator, step: number) {
  const out = new Map<string, unknown>();
  for (const d of acc.deltas()) {
    if (d.step !== step) continue;
    const hist = new Array<number>(160).fill(0);
    for (let i = 0; i < d.hist.length; i += 2) hist[d.hist[i]!]! += d.hist[i + 1]!;
    const f = d.figures;
    out.set(`${d.appId}/${d.dimension}/${d.value}/${d.t}`, {
      appId: d.appId,
      dimension: d.dimension,
      value: d.value,
      t: d.t,
      sessions: f[0],
      sessionsWithErrors: f[1],
      startupSum: f[2],
      startupCount: f[3],
      rebufferSum: f[4],
      rebufferCount: f[5],
      playSum: f[6],
      playCount: f[7],
      droppedSum: f[8],
      droppedCount: f[9],
      seeksSum: f[10],
      seeksCount: f[11],
      bitrateSum: f[12],
      bitrateCount: f[13],
      startupHist: hist,
    });
  }
  return out;
}

describe('QoE deltas', () => {
  test.each([60_000, 3_600_000] as const)('summed deltas equal rows computed from scratch (step %i)', (step) => {
    const rows = sessions(2_000, step);
    const acc = new QoeDeltaAccumulator(L);
    for (const r of rows) acc.add(r, 1);
    const expected = new Map(
      qoeRowsFromSessions(rows, L, step).map((r) => [`${r.appId}/${r.dimension}/${r.value}/${r.t}`, r]),
    );
    expect(accumulated(acc, step)).toEqual(expected);
    // Empty strings and nulls are no dimension value; every session counts once in global.
    const global = [...expected.values()].filter((r) => r.dimension === 'global').reduce((s, r) => s + r.sessions, 0);
    expect(global).toBe(rows.length);
    expect([...expected.values()].some((r) => r.dimension === 'country' && r.value === '')).toBe(false);
  });

  test('a session added and subtracted nets to zero; clear starts a new group', () => {
    const [a, b] = sessions(2, 7);
    const acc = new QoeDeltaAccumulator(L);
    acc.add(a!, 1);
    acc.add(b!, 1);
    acc.add(a!, -1);
    const only = new QoeDeltaAccumulator(L);
    only.add(b!, 1);
    const nonZero = (m: Map<string, unknown>) =>
      new Map([...m].filter(([, r]) => (r as { sessions: number }).sessions !== 0));
    for (const step of [60_000, 3_600_000]) expect(nonZero(accumulated(acc, step))).toEqual(accumulated(only, step));
    acc.clear();
    expect([...acc.deltas()]).toEqual([]);
  });

  test('the startup histogram counts each session in its bucket', () => {
    const acc = new QoeDeltaAccumulator(L);
    const row = sessions(1, 3)[0]!;
    row[L.startup] = 1234;
    acc.add(row, 1);
    acc.add(row, 1);
    const global = [...acc.deltas()].find((d) => d.dimension === 'global' && d.step === 60_000)!;
    expect(global.hist).toEqual([startupBucket(1234), 2]);
  });
});
