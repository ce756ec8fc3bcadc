// The stream read API and moments end to end: webhook sessions over real HTTP, the minute job on a
// simulated clock, then /api/v1/streams, metrics, stats/series, moments, and the in-process moment feed.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import type { Moment } from '../../src/engine/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { playClosed, playStarted, postWebhook } from './webhook-helpers.ts';

const MIN = 60_000;

describe('stream read API and moments', () => {
  let s: TestServer;
  let readKey: string;
  const t0 = Math.floor(Date.now() / MIN) * MIN - 50 * MIN;
  const published: Moment[] = [];
  const perMinute = (m: number) => (m === 42 || m === 43 ? 200 : 25 + ((m * 7) % 11));

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
    s.server.analytics.onMoment((m) => published.push(m));
    await s.server.analytics.runMinuteJob(t0);
    const events: Record<string, unknown>[] = [];
    for (let m = 0; m < 45; m++)
      for (let i = 0; i < perMinute(m); i++) {
        const opened = t0 + m * MIN + 1_000 + i;
        const id = `m${m}-${i}`;
        events.push(playClosed(id, opened, opened + 50_000, { media: 'big', user_id: `u${i}`, bytes: 1_000 }));
      }
    // Two viewers still watching another channel.
    events.push(
      playStarted('open-1', t0, { media: 'small', bytes: 500 }),
      playStarted('open-2', t0 + 30 * MIN, { media: 'small', proto: 'dash' }),
    );
    for (let b = 0; b < events.length; b += 500)
      expect((await postWebhook(s.url, events.slice(b, b + 500), s.apiKey)).status).toBe(200);
    await s.server.analytics.runMinuteJob(t0 + 46 * MIN);
  });
  afterAll(() => s.close());

  const get = async (path: string) => {
    const res = await fetch(`${s.url}${path}`, { headers: { 'x-api-key': readKey } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('channel metrics per minute', async () => {
    const { status, body } = await get(`/api/v1/streams/big/metrics?from=${t0}&to=${t0 + 45 * MIN}&step=60`);
    expect(status).toBe(200);
    const points = body.points as Array<Record<string, number>>;
    expect(body).toMatchObject({ channel: 'big', step: 60 });
    expect(points).toHaveLength(45);
    expect(points[10]).toEqual({
      t: t0 + 10 * MIN,
      sessions_started: perMinute(10),
      sessions_closed: perMinute(10),
      total_bytes: perMinute(10) * 1_000,
      bandwidth_bps: Math.round((perMinute(10) * 1_000 * 8) / 60),
      watch_time_seconds: perMinute(10) * 50,
      unique_users: perMinute(10),
      peak_concurrent: perMinute(10),
    });
  });

  test('any dimension through stats/series, global included; bad parameters are named', async () => {
    const global = await get(`/api/v1/stats/series?from=${t0 + 30 * MIN}&to=${t0 + 31 * MIN}&step=60`);
    // Minute 30: the channel's sessions plus both open ones (open-2 opened at its first instant).
    expect((global.body.points as Array<Record<string, number>>)[0]!.peak_concurrent).toBe(perMinute(30) + 2);
    const dash = await get(
      `/api/v1/stats/series?dimension=protocol&value=dash&from=${t0 + 30 * MIN}&to=${t0 + 32 * MIN}&step=60`,
    );
    expect((dash.body.points as Array<Record<string, number>>).map((p) => p.peak_concurrent)).toEqual([1, 1]);
    expect((await get('/api/v1/stats/series?dimension=planet&value=x')).status).toBe(400);
    expect((await get('/api/v1/stats/series?dimension=channel')).body).toMatchObject({
      error: { code: 'INVALID_SCHEMA', message: 'value: is required for dimension channel' },
    });
    expect((await get('/api/v1/streams/big/metrics?step=7')).status).toBe(400);
    expect((await fetch(`${s.url}/api/v1/streams`)).status).toBe(401);
  });

  test('the stream list shows current viewers and the last minute', async () => {
    const { body } = await get('/api/v1/streams?limit=10');
    const streams = body.streams as Array<{ channel: string; viewers: number }>;
    expect(streams[0]).toMatchObject({ channel: 'small', viewers: 2 });
    expect((await get('/api/v1/streams?limit=0')).status).toBe(400);
    expect((await get('/api/v1/streams?limit=501')).status).toBe(400);
  });

  test('a viewer spike becomes a moment: stored, listed, and published in-process', async () => {
    const spikes = published.filter((m) => m.metric === 'concurrent_viewers' && m.kind === 'spike');
    expect(spikes.map((m) => [m.dimension, m.value, m.startedAt])).toEqual(
      expect.arrayContaining([
        ['global', '', t0 + 42 * MIN],
        ['channel', 'big', t0 + 42 * MIN],
      ]),
    );
    const global = spikes.find((m) => m.dimension === 'global')!;
    expect(global.id).toBeGreaterThan(0);
    expect(global.peakValue).toBeGreaterThanOrEqual(200);
    expect(global.threshold).toBe(3);
    const listed = await get(`/api/v1/moments?from=${t0}&to=${t0 + 60 * MIN}&metric=concurrent_viewers`);
    expect((listed.body.moments as Moment[]).map((m) => m.id)).toContain(global.id);
    const channel = await get(`/api/v1/streams/big/moments?from=${t0}&to=${t0 + 60 * MIN}`);
    expect((channel.body.moments as Moment[]).every((m) => m.dimension === 'channel' && m.value === 'big')).toBe(true);
    expect((channel.body.moments as Moment[]).length).toBeGreaterThanOrEqual(1);
  });

  test('recent per-minute series for the live page', async () => {
    const rows = await s.server.analytics.recentSeries('default', 'global', '', 60, t0 + 46 * MIN);
    expect(rows.find((r) => r.t === t0 + 42 * MIN)?.peakConcurrent).toBe(202); // the two open sessions too
  });
});
