// QoE rollups of SDK sessions: kept exact under random upserts (replacements subtract the old session),
// percentiles within 5 %, and the read API over them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import type { QoeRollupRow } from '../../src/store/index.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { prng } from '../helpers/prng.ts';

const _MIN = 60_000;
const HOUR = 3_600_000;

const nearestRank = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
};

describe('QoE rollups', () => {
  let s: TestServer;
  let readKey: string;
  const base = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
  /** The session that should win for each id: the newest timestamp, the last sent on a tie. */
  const winners = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
    const rand = prng(11);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const maybe = <T>(v: T) => (rand() < 0.15 ? null : v);
    for (let batch = 0; batch < 30; batch++) {
      const sessions = [];
      for (let i = 0; i < 50; i++) {
        const id = `q-${Math.floor(rand() * 600)}`;
        const timestamp = base + Math.floor(rand() * 3 * HOUR);
        const session = sdkSession({
          sessionId: id,
          timestamp,
          startupTimeMs: maybe(Math.floor(Math.exp(rand() * 9))),
          rebufferTimeMs: maybe(Math.floor(rand() * 5_000)),
          playTimeMs: maybe(Math.floor(rand() * 600_000)),
          totalDroppedFrames: maybe(Math.floor(rand() * 50)),
          totalSeekCount: maybe(Math.floor(rand() * 5)),
          errorCount: maybe(rand() < 0.1 ? 1 : 0),
          meanVideoFormatBitrate: maybe(Math.floor(1e6 + rand() * 5e6)),
          contentId: maybe(pick(['a', 'b', 'c'])),
          country: maybe(pick(['US', 'DE', 'FR'])),
          os: maybe(pick(['Android 14', 'Android 13'])),
        });
        const prev = winners.get(id);
        if (!prev || (prev.timestamp as number) <= timestamp) winners.set(id, session);
        sessions.push(session);
      }
      // Within one request the last of equal ids wins too, as they are upserted in order.
      const res = await postSessions(s.url, sessions, { key: s.apiKey });
      expect(res.status).toBe(200);
    }
  }, 120_000);
  afterAll(() => s.close());

  test('random upserts leave the rollups equal to a recomputation from the stored sessions', async () => {
    for (const step of [60_000, 3_600_000] as const) {
      const recomputed = await s.server.store.recomputeQoeRows(step, 'default', base - HOUR, base + 4 * HOUR);
      const key = (r: QoeRollupRow) => `${r.dimension}|${r.value}|${r.t}`;
      const stored: QoeRollupRow[] = [];
      for (const dim of new Set(recomputed.map((r) => r.dimension)))
        stored.push(...(await s.server.store.qoeRows(step, 'default', dim, null, base - HOUR, base + 4 * HOUR)));
      expect(stored.length).toBe(recomputed.length);
      const byKey = new Map(stored.map((r) => [key(r), r]));
      for (const r of recomputed) {
        const got = byKey.get(key(r));
        expect(got, key(r)).toBeDefined();
        for (const f of [
          'sessions',
          'sessionsWithErrors',
          'startupCount',
          'rebufferCount',
          'playCount',
          'droppedCount',
          'seeksCount',
          'bitrateCount',
        ] as const)
          expect(got![f], `${key(r)} ${f}`).toBe(r[f]);
        for (const f of ['startupSum', 'rebufferSum', 'playSum', 'droppedSum', 'seeksSum', 'bitrateSum'] as const)
          expect(got![f], `${key(r)} ${f}`).toBeCloseTo(r[f], 3);
        expect(got!.startupHist, `${key(r)} histogram`).toEqual(r.startupHist);
      }
    }
  });

  test('the app totals equal the winning sessions, counted here', async () => {
    const res = await fetch(
      `${s.url}/api/v1/qoe/breakdown?dimension=contentId&from=${base - HOUR}&to=${base + 4 * HOUR}&step=3600`,
      {
        headers: { 'x-api-key': readKey },
      },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: Array<Record<string, number | string | null>> };
    for (const content of ['a', 'b', 'c']) {
      const mine = [...winners.values()].filter((w) => w.contentId === content);
      const row = body.rows.find((r) => r.value === content)!;
      expect(row.sessions).toBe(mine.length);
      const failures = mine.filter((w) => ((w.errorCount as number | null) ?? 0) > 0).length;
      expect(row.playback_failure_pct).toBeCloseTo((100 * failures) / mine.length, 3);
      const rebuffer = mine.reduce((a, w) => a + ((w.rebufferTimeMs as number | null) ?? 0), 0);
      const play = mine.reduce((a, w) => a + ((w.playTimeMs as number | null) ?? 0), 0);
      expect(row.rebuffer_pct).toBeCloseTo((100 * rebuffer) / (rebuffer + play), 3);
      const startups = mine.map((w) => w.startupTimeMs).filter((v): v is number => typeof v === 'number');
      for (const [q, metric] of [
        [0.5, 'startup_p50_ms'],
        [0.95, 'startup_p95_ms'],
        [0.99, 'startup_p99_ms'],
      ] as const) {
        const exact = nearestRank(startups, q);
        const got = row[metric] as number;
        // ≤ 5 % (buckets of 10 %); below 1 ms the bucket is 0.
        if (exact >= 1)
          expect(Math.abs(got - exact) / exact, `${content} ${metric}: ${got} vs ${exact}`).toBeLessThanOrEqual(0.05);
      }
    }
  });

  test('the time series answers per minute or per hour, and filters by one dimension', async () => {
    const q = (params: string) =>
      fetch(`${s.url}/api/v1/qoe/timeseries?${params}`, { headers: { 'x-api-key': readKey } });
    // A day: hourly rows by default.
    const hourly = (await (await q(`metric=sessions&from=${base - 21 * HOUR}&to=${base + 3 * HOUR}`)).json()) as {
      step: number;
      points: Array<{ t: number; value: number }>;
    };
    expect(hourly.step).toBe(3600);
    expect(hourly.points).toHaveLength(24);
    expect(hourly.points.slice(-3).map((p) => p.t)).toEqual([base, base + HOUR, base + 2 * HOUR]);
    expect(hourly.points.reduce((a, p) => a + p.value, 0)).toBe(winners.size);
    const perMinute = (await (
      await q(`metric=sessions&step=60&from=${base}&to=${base + HOUR}&filter[country]=DE`)
    ).json()) as { points: Array<{ value: number }> };
    expect(perMinute.points).toHaveLength(60);
    const de = [...winners.values()].filter((w) => w.country === 'DE' && (w.timestamp as number) < base + HOUR).length;
    expect(perMinute.points.reduce((a, p) => a + p.value, 0)).toBe(de);
    const p95 = (await (await q(`metric=startup_p95_ms&from=${base}&to=${base + 3 * HOUR}`)).json()) as {
      points: Array<{ value: number | null }>;
    };
    expect(p95.points.every((p) => p.value === null || p.value > 0)).toBe(true);
    expect((await q('metric=nope')).status).toBe(400);
    expect(((await (await q('metric=nope')).json()) as { error: { message: string } }).error.message).toMatch(
      /^metric: expected one of sessions/,
    );
    expect((await q('filter[country]=DE&filter[os]=x')).status).toBe(400);
    expect((await q('filter[colour]=red')).status).toBe(400);
    expect((await q('step=90')).status).toBe(400);
    expect((await q(`from=${base}&to=${base - 1}`)).status).toBe(400);
    expect((await q('app=someone-else')).status).toBe(404);
    expect((await fetch(`${s.url}/api/v1/qoe/timeseries`)).status).toBe(401);
  });
});
