// GET /api/v1/qoe/summary: one exact row for a period (and the period before it), checked against a brute-force
// computation over the sessions this test sent: counts and sums exactly, startup percentiles within the
// histogram's stated 5 %, bitrate weighted by play time.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { prng } from '../helpers/prng.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

const MIN = 60_000;
const HOUR = 3_600_000;

type Session = Record<string, unknown>;
const num = (w: Session, f: string) => (typeof w[f] === 'number' ? (w[f] as number) : null);
const nearestRank = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
};

/** The summary figures computed here from raw sessions, with nothing of the server's code. */
function bruteForce(sessions: Session[]) {
  const failures = sessions.filter((w) => (num(w, 'errorCount') ?? 0) > 0).length;
  const rebuffer = sessions.reduce((a, w) => a + (num(w, 'rebufferTimeMs') ?? 0), 0);
  const play = sessions.reduce((a, w) => a + (num(w, 'playTimeMs') ?? 0), 0);
  let weighted = 0;
  let weight = 0;
  for (const w of sessions) {
    const b = num(w, 'meanVideoFormatBitrate');
    const p = num(w, 'playTimeMs');
    if (b !== null && p !== null && p > 0) {
      weighted += b * p;
      weight += p;
    }
  }
  const startups = sessions.map((w) => num(w, 'startupTimeMs')).filter((v): v is number => v !== null);
  return {
    sessions: sessions.length,
    playback_failure_pct: sessions.length ? (100 * failures) / sessions.length : null,
    rebuffer_pct: rebuffer + play > 0 ? (100 * rebuffer) / (rebuffer + play) : null,
    bitrate_mean_bps: weight > 0 ? weighted / weight : null,
    dropped_frames: sessions.length ? sessions.reduce((a, w) => a + (num(w, 'totalDroppedFrames') ?? 0), 0) : null,
    startup_p50_ms: startups.length ? nearestRank(startups, 0.5) : null,
    startup_p95_ms: startups.length ? nearestRank(startups, 0.95) : null,
    startup_p99_ms: startups.length ? nearestRank(startups, 0.99) : null,
  };
}

describe('QoE summary of a period', () => {
  let s: TestServer;
  let readKey: string;
  // Seven hours of sessions; the period asked for has ragged edges (minutes) around whole hours.
  const base = Math.floor(Date.now() / HOUR) * HOUR - 8 * HOUR;
  const sent: Session[] = [];

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
    const rand = prng(15);
    const maybe = <T>(v: T) => (rand() < 0.15 ? null : v);
    let n = 0;
    for (let batch = 0; batch < 20; batch++) {
      const sessions: Session[] = [];
      for (let i = 0; i < 60; i++) {
        const session = sdkSession({
          sessionId: `sum-${n++}`,
          timestamp: base + Math.floor(rand() * 7 * HOUR),
          startupTimeMs: maybe(Math.floor(Math.exp(rand() * 9))),
          rebufferTimeMs: maybe(Math.floor(rand() * 5_000)),
          playTimeMs: maybe(Math.floor(rand() * 600_000)),
          totalDroppedFrames: maybe(Math.floor(rand() * 50)),
          errorCount: maybe(rand() < 0.1 ? 1 : 0),
          meanVideoFormatBitrate: maybe(Math.floor(1e6 + rand() * 5e6)),
          country: maybe(rand() < 0.5 ? 'DE' : 'US'),
        });
        sessions.push(session);
        sent.push(session);
      }
      expect((await postSessions(s.url, sessions, { key: s.apiKey })).status).toBe(200);
    }
  }, 120_000);
  afterAll(() => s.close());

  const summary = async (params: string) => {
    const res = await fetch(`${s.url}/api/v1/qoe/summary?${params}`, { headers: { 'x-api-key': readKey } });
    return { status: res.status, body: (await res.json()) as Record<string, Record<string, number | null>> };
  };

  function expectMatches(got: Record<string, unknown>, sessions: Session[], label: string) {
    const want = bruteForce(sessions);
    expect(got.sessions, `${label} sessions`).toBe(want.sessions);
    expect(got.dropped_frames, `${label} dropped`).toBe(want.dropped_frames);
    for (const f of ['playback_failure_pct', 'rebuffer_pct'] as const)
      expect(got[f] as number, `${label} ${f}`).toBeCloseTo(want[f]!, 3);
    expect(Math.abs((got.bitrate_mean_bps as number) - want.bitrate_mean_bps!), `${label} bitrate`).toBeLessThanOrEqual(
      0.5,
    );
    expect(got.bitrate_weighting).toBe('play_time');
    for (const f of ['startup_p50_ms', 'startup_p95_ms', 'startup_p99_ms'] as const) {
      const exact = want[f]!;
      const value = got[f] as number;
      if (exact >= 1)
        expect(Math.abs(value - exact) / exact, `${label} ${f}: ${value} vs ${exact}`).toBeLessThanOrEqual(0.05);
    }
  }

  test('the whole-app row of a ragged period and of the period before it equal the raw sessions', async () => {
    const from = base + 3 * HOUR + 17 * MIN;
    const to = base + 6 * HOUR + 43 * MIN;
    const { status, body } = await summary(`from=${from}&to=${to}`);
    expect(status).toBe(200);
    expect(body.current).toMatchObject({ from, to });
    expect(body.previous).toMatchObject({ from: from - (to - from), to: from });
    const inside = (a: number, b: number) =>
      sent.filter((w) => (w.timestamp as number) >= a && (w.timestamp as number) < b);
    expect(inside(from, to).length).toBeGreaterThan(300);
    expectMatches(body.current!, inside(from, to), 'current');
    expectMatches(body.previous!, inside(from - (to - from), from), 'previous');
  });

  test('a period longer than six hours keeps its ragged start: only whole minutes, not whole hours', async () => {
    const from = base + 13 * MIN;
    const to = base + 6 * HOUR + 47 * MIN;
    const { status, body } = await summary(`from=${from}&to=${to}`);
    expect(status).toBe(200);
    expect(body.current).toMatchObject({ from, to });
    expect(body.previous).toMatchObject({ from: from - (to - from), to: from });
    expectMatches(
      body.current!,
      sent.filter((w) => (w.timestamp as number) >= from && (w.timestamp as number) < to),
      'over six hours',
    );
  });

  test('a filter narrows both periods to one dimension value', async () => {
    const from = base + 4 * HOUR + 5 * MIN;
    const to = base + 6 * HOUR + 59 * MIN;
    const { status, body } = await summary(`from=${from}&to=${to}&filter[country]=DE`);
    expect(status).toBe(200);
    expect(body.filter).toEqual({ country: 'DE' });
    const de = (a: number, b: number) =>
      sent.filter((w) => w.country === 'DE' && (w.timestamp as number) >= a && (w.timestamp as number) < b);
    expectMatches(body.current!, de(from, to), 'DE current');
    expectMatches(body.previous!, de(from - (to - from), from), 'DE previous');
  });

  test('an empty period has zero sessions and unknown figures; bad input is a 400 naming it', async () => {
    const { body } = await summary(`from=${base - 30 * HOUR}&to=${base - 20 * HOUR}`);
    expect(body.current).toMatchObject({ sessions: 0, playback_failure_pct: null, startup_p95_ms: null });
    const bad = await summary('filter[planet]=mars');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/filter\[planet\]/);
    expect((await summary(`from=${base}&to=${base - 1}`)).status).toBe(400);
  });
});
