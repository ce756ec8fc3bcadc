// Sessions that never get a close are closed as stale after staleSessionHours, by the periodic sync; a real
// close arriving later still replaces m3w's guess.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { playClosed, playStarted, postWebhook } from './webhook-helpers.ts';

const HOUR = 3_600_000;

describe('stale sessions', () => {
  let s: TestServer;
  const now = Date.now();

  beforeAll(async () => {
    s = await startTestServer({ staleSessionHours: 2 }, undefined, { analyticsSchedules: false });
    await postWebhook(s.url, [playStarted('old', now - 3 * HOUR), playStarted('recent', now - HOUR)], s.apiKey);
  });
  afterAll(() => s.close());

  test('the sync closes sessions open longer than staleSessionHours, as reason "stale"', async () => {
    expect(s.server.analytics.live.counts('default').total).toBe(2);
    await s.server.analytics.sync(now);
    expect(s.server.analytics.live.counts('default').total).toBe(1);
    expect(await s.server.store.getPlaySession('default', 'old')).toMatchObject({ closedAt: now, reason: 'stale' });
    expect(await s.server.store.getPlaySession('default', 'recent')).toMatchObject({ closedAt: null });
    expect(await s.server.store.getEngineState('live.snapshot_open')).toBe(1);
  });

  test('a real close after the stale one wins', async () => {
    const res = await postWebhook(s.url, playClosed('old', now - 3 * HOUR, now - 2.5 * HOUR), s.apiKey);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
    expect(await s.server.store.getPlaySession('default', 'old')).toMatchObject({
      closedAt: now - 2.5 * HOUR,
      reason: 'normal',
    });
  });
});
