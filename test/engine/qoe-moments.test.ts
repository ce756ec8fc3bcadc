// QoE moments end to end: SDK sessions over real HTTP, then a burst of playback failures becomes a
// playback_failure_pct spike of the app, stored and published in-process; a rise that lasts is one moment per
// series however many minute jobs see it; a small app is judged over 15-minute buckets.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Moment } from '../../src/engine/index.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

const MIN = 60_000;
/** How much slower or faster a minute may be than its level: enough that windows one minute apart disagree on the start. */
const WOBBLE_MS = 300;

describe('QoE moments', () => {
  let s: TestServer;
  const t0 = Math.floor(Date.now() / MIN) * MIN - 50 * MIN;
  const published: Moment[] = [];

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    s.server.analytics.onMoment((m) => published.push(m));
    await s.server.analytics.runMinuteJob(t0);
    for (let m = 0; m < 45; m++) {
      const failures = m === 42 || m === 43 ? 20 : 1 + (m % 2);
      const sessions = Array.from({ length: 30 }, (_, i) =>
        sdkSession({
          sessionId: `q${m}-${i}`,
          timestamp: t0 + m * MIN + i * 1000,
          errorCount: i < failures ? 1 : 0,
          contentId: 'movie',
        }),
      );
      expect((await postSessions(s.url, sessions, { key: s.apiKey })).status).toBe(200);
    }
    await s.server.analytics.runMinuteJob(t0 + 46 * MIN);
  });
  afterAll(() => s.close());

  test('a burst of failures is a playback_failure_pct spike of the app and of its content', () => {
    const spikes = published.filter((m) => m.metric === 'playback_failure_pct');
    expect(spikes.map((m) => [m.dimension, m.value, m.kind, m.startedAt, m.appId])).toEqual(
      expect.arrayContaining([
        ['global', '', 'spike', t0 + 42 * MIN, 'default'],
        ['contentId', 'movie', 'spike', t0 + 42 * MIN, 'default'],
      ]),
    );
    const global = spikes.find((m) => m.dimension === 'global')!;
    expect(global.peakValue).toBeCloseTo((100 * 20) / 30, 3);
    expect(global.endedAt).toBe(t0 + 44 * MIN);
    // Nothing else moved.
    expect(published.filter((m) => m.metric !== 'playback_failure_pct')).toEqual([]);
  });
});

describe('QoE moments on a lasting change, judged minute by minute', () => {
  let s: TestServer;
  const t0 = Math.floor(Date.now() / MIN) * MIN - 80 * MIN;
  const published: Moment[] = [];

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    s.server.analytics.onMoment((m) => published.push(m));
    await s.server.analytics.runMinuteJob(t0);
    // 30 sessions a minute, each minute a little faster or slower than the last; from minute 40 startup rises
    // over fifteen minutes to three times what it was, and stays there.
    let seed = 7;
    const wobble = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2 * WOBBLE_MS;
    for (let m = 0; m < 75; m++) {
      const level = m < 40 ? 600 : Math.min(1800, 600 + (m - 40) * 80);
      const offset = wobble();
      const sessions = Array.from({ length: 30 }, (_, i) =>
        sdkSession({
          sessionId: `step${m}-${i}`,
          timestamp: t0 + m * MIN + i * 1000,
          startupTimeMs: Math.round(level + offset + i * 15),
          contentId: 'movie',
        }),
      );
      expect((await postSessions(s.url, sessions, { key: s.apiKey })).status).toBe(200);
    }
    // The minute job as the schedule runs it: once a minute, each run looking at a window one minute later.
    for (let m = 1; m <= 76; m++) await s.server.analytics.runMinuteJob(t0 + m * MIN);
  }, 120_000);
  afterAll(() => s.close());

  test('startup that rises to three times what it was and stays so is one startup_p95_ms moment per series, stored once', async () => {
    const stored = await s.server.store.listMoments({
      from: t0,
      to: t0 + 80 * MIN,
      metric: 'startup_p95_ms',
      limit: 100,
    });
    expect(stored.map((m) => [m.dimension, m.value, m.kind]).sort()).toEqual([
      ['contentId', 'movie', 'spike'],
      ['global', '', 'spike'],
    ]);
    for (const m of stored) {
      expect(m.startedAt).toBeGreaterThanOrEqual(t0 + 40 * MIN);
      expect(m.startedAt).toBeLessThanOrEqual(t0 + 50 * MIN);
    }
    // Every update published was about one of those two rows.
    expect(new Set(published.filter((m) => m.metric === 'startup_p95_ms').map((m) => m.id))).toEqual(
      new Set(stored.map((m) => m.id)),
    );
  });
});

describe('QoE moments of a small app, judged over longer buckets', () => {
  let s: TestServer;
  const QUARTER = 15 * MIN;
  const t0 = Math.floor(Date.now() / QUARTER) * QUARTER - 300 * MIN;
  const published: Moment[] = [];

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    s.server.analytics.onMoment((m) => published.push(m));
    await s.server.analytics.runMinuteJob(t0);
    // Two sessions a minute for five hours, one in fifteen failing; every one fails in minutes 270 to 284.
    const all = Array.from({ length: 300 * 2 }, (_, n) => {
      const m = Math.floor(n / 2);
      const failed = (m >= 270 && m < 285) || n % 15 === 0;
      return sdkSession({
        sessionId: `small-${n}`,
        timestamp: t0 + m * MIN + (n % 2) * 20_000,
        errorCount: failed ? 1 : 0,
      });
    });
    for (let i = 0; i < all.length; i += 50)
      expect((await postSessions(s.url, all.slice(i, i + 50), { key: s.apiKey })).status).toBe(200);
    await s.server.analytics.runMinuteJob(t0 + 286 * MIN);
  }, 120_000);
  afterAll(() => s.close());

  test('two sessions a minute: a quarter hour of failures is a moment of that quarter hour', () => {
    const failures = published.filter((m) => m.metric === 'playback_failure_pct');
    expect(failures.map((m) => [m.dimension, m.kind, m.startedAt, m.endedAt, m.appId])).toEqual([
      ['global', 'spike', t0 + 270 * MIN, t0 + 285 * MIN, 'default'],
    ]);
    expect(failures[0]!.peakValue).toBe(100);
    expect(failures[0]!.baseline).toBeLessThan(15);
    expect(published.filter((m) => m.metric !== 'playback_failure_pct')).toEqual([]);
  });
});
