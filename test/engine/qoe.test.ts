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
          // All eight dimensions the rollups break down by, each sometimes absent.
          contentId: maybe(pick(['a', 'b', 'c'])),
          streamType: maybe(pick(['vod', 'live'])),
          appVersion: maybe(pick(['1.0.0', '1.1.0', '2.0.0'])),
          deviceModel: maybe(pick(['Pixel 8', 'SM-G991B'])),
          os: maybe(pick(['Android 14', 'Android 13'])),
          country: maybe(pick(['US', 'DE', 'FR'])),
          cdn: maybe(pick(['akamai', 'fastly'])),
          playerName: maybe(pick(['exoplayer', 'media3'])),
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

  test('random upserts leave the rollups equal to rows computed here from the winning sessions', async () => {
    // The expected rows come from the sessions this test sent (the winner of each id), with nothing of the
    // writer's: its own field names, its own bucket search, its own sums.
    const DIMENSIONS = ['contentId', 'streamType', 'appVersion', 'deviceModel', 'os', 'country', 'cdn', 'playerName'];
    const bucketOf = (ms: number) => {
      if (!(ms >= 1)) return 0; // bucket 0: below 1 ms; bucket i ≥ 1: [1.1^(i-1), 1.1^i)
      let b = 1;
      while (b < 159 && 1.1 ** b <= ms) b++;
      return b;
    };
    const num = (w: Record<string, unknown>, f: string) => w[f] as number | null;
    for (const step of [60_000, 3_600_000] as const) {
      const expected = new Map<string, QoeRollupRow>();
      for (const w of winners.values()) {
        const t = Math.floor((w.timestamp as number) / step) * step;
        const places: Array<[string, string]> = [['global', '']];
        for (const d of DIMENSIONS) if (w[d] !== null && w[d] !== undefined) places.push([d, String(w[d])]);
        for (const [dimension, value] of places) {
          const k = `${dimension}|${value}|${t}`;
          let r = expected.get(k);
          if (!r) {
            r = {
              appId: 'default',
              dimension,
              value,
              t,
              sessions: 0,
              sessionsWithErrors: 0,
              startupSum: 0,
              startupCount: 0,
              rebufferSum: 0,
              rebufferCount: 0,
              playSum: 0,
              playCount: 0,
              droppedSum: 0,
              droppedCount: 0,
              seeksSum: 0,
              seeksCount: 0,
              bitrateSum: 0,
              bitrateCount: 0,
              startupHist: new Array(160).fill(0),
            };
            expected.set(k, r);
          }
          r.sessions++;
          if ((num(w, 'errorCount') ?? 0) > 0) r.sessionsWithErrors++;
          for (const [field, sum, count] of [
            ['startupTimeMs', 'startupSum', 'startupCount'],
            ['rebufferTimeMs', 'rebufferSum', 'rebufferCount'],
            ['playTimeMs', 'playSum', 'playCount'],
            ['totalDroppedFrames', 'droppedSum', 'droppedCount'],
            ['totalSeekCount', 'seeksSum', 'seeksCount'],
            ['meanVideoFormatBitrate', 'bitrateSum', 'bitrateCount'],
          ] as const) {
            const v = num(w, field);
            if (v === null) continue;
            r[sum] += v;
            r[count]++;
          }
          const startup = num(w, 'startupTimeMs');
          if (startup !== null) r.startupHist[bucketOf(startup)]!++;
        }
      }
      const stored: QoeRollupRow[] = [];
      for (const dim of ['global', ...DIMENSIONS])
        stored.push(...(await s.server.store.qoeRows(step, 'default', dim, null, base - HOUR, base + 4 * HOUR)));
      // Every dimension has rows (the sessions fill all eight), and there are no rows but the expected ones.
      for (const dim of DIMENSIONS)
        expect(
          stored.some((r) => r.dimension === dim),
          dim,
        ).toBe(true);
      expect(stored.map((r) => `${r.dimension}|${r.value}|${r.t}`).sort()).toEqual([...expected.keys()].sort());
      for (const got of stored) {
        const want = expected.get(`${got.dimension}|${got.value}|${got.t}`)!;
        const label = `${step} ${got.dimension}=${got.value} @${got.t}`;
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
          expect(got[f], `${label} ${f}`).toBe(want[f]);
        for (const f of ['startupSum', 'rebufferSum', 'playSum', 'droppedSum', 'seeksSum', 'bitrateSum'] as const)
          expect(got[f], `${label} ${f}`).toBeCloseTo(want[f], 3);
        expect(got.startupHist, `${label} histogram`).toEqual(want.startupHist);
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
