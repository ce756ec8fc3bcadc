// QoE moments end to end: SDK sessions over real HTTP, then a burst of playback failures becomes a
// playback_failure_pct spike of the app, stored and published in-process.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Moment } from '../../src/engine/index.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';

const MIN = 60_000;

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
