// The every-minute path of the minute job (open sessions taken from the live tracker as whole aggregates)
// gives the same rows as a recomputation from the raw rows. Times lie ahead of the real clock, so no event
// is late and every run takes exactly that path: one new minute, nothing to recompute.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { StreamRollupRow } from '../../src/store/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { playClosed, playStarted, postWebhook } from './webhook-helpers.ts';
import { prng } from '../helpers/prng.ts';

const MIN = 60_000;
const HOUR = 3_600_000;

describe('minute job, every-minute path', () => {
  let s: TestServer;
  const t0 = Math.ceil(Date.now() / HOUR) * HOUR + HOUR;
  const span = 60 * MIN;
  const reports: Array<{ minutes: number; recomputedFrom: number | null }> = [];

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    const rand = prng(5);
    const deliveries: Array<{ at: number; body: Record<string, unknown> }> = [];
    for (let i = 0; i < 2_000; i++) {
      // A third are open before the hour starts: they are the tracker's whole-minute sessions.
      const opened = t0 - (rand() < 0.33 ? Math.floor(rand() * 20 * MIN) : -Math.floor(rand() * span));
      const closed = rand() < 0.2 ? null : opened + Math.floor(-Math.log(1 - rand()) * 15 * MIN);
      const fields = {
        media: `ch${i % 7}`,
        server: `s${i % 3}`,
        user_id: rand() < 0.8 ? `u${Math.floor(rand() * 300)}` : null,
        ip: `10.0.0.${i % 200}`,
        country: ['AU', 'DE', ''][i % 3],
        bytes: 100,
      };
      deliveries.push({ at: opened, body: playStarted(`p${i}`, opened, fields) });
      if (closed !== null && closed < t0 + span)
        deliveries.push({ at: closed, body: playClosed(`p${i}`, opened, closed, { ...fields, bytes: 5_000 }) });
    }
    deliveries.sort((a, b) => a.at - b.at);
    const early = deliveries.filter((d) => d.at < t0).map((d) => d.body);
    for (let b = 0; b < early.length; b += 200) await postWebhook(s.url, early.slice(b, b + 200), s.apiKey);
    await s.server.analytics.runMinuteJob(t0);
    let i = early.length;
    for (let now = t0 + MIN; now <= t0 + span; now += MIN) {
      const due: Record<string, unknown>[] = [];
      while (i < deliveries.length && deliveries[i]!.at < now) due.push(deliveries[i++]!.body);
      for (let b = 0; b < due.length; b += 200) await postWebhook(s.url, due.slice(b, b + 200), s.apiKey);
      reports.push(await s.server.analytics.runMinuteJob(now));
    }
  }, 120_000);
  afterAll(() => s.close());

  test('each run rolled up exactly one new minute and recomputed nothing', () => {
    expect(reports).toHaveLength(60);
    expect(reports.every((r) => r.minutes === 1 && r.recomputedFrom === null)).toBe(true);
  });

  test('the rows equal a recomputation from raw rows, unique viewers and peaks included', async () => {
    const recomputed = await s.server.analytics.recomputeFromRaw(60_000, t0, t0 + span);
    const key = (r: StreamRollupRow) => `${r.dimension}|${r.value}|${r.t}`;
    const stored = new Map<string, StreamRollupRow>();
    for (const dim of ['global', 'server', 'channel', 'country', 'protocol', 'device'])
      for (const value of new Set(recomputed.filter((r) => r.dimension === dim).map((r) => r.value)))
        for (const r of await s.server.store.streamSeries(60_000, 'default', dim, value, t0, t0 + span))
          stored.set(key(r), r);
    expect(stored.size).toBe(recomputed.length);
    for (const r of recomputed) expect(stored.get(key(r)), key(r)).toEqual(r);
    // The tracker's whole-minute sessions were really there: hundreds watching in the first minute.
    expect(recomputed.find((r) => r.dimension === 'global' && r.t === t0)!.peakConcurrent).toBeGreaterThan(300);
  });
});

describe('a close without a start, arriving after its opening minute was rolled up', () => {
  let s: TestServer;
  afterAll(() => s?.close());

  test('the opening minute is recomputed: the session counts as started there', async () => {
    s = await startTestServer({}, undefined, { analyticsSchedules: false });
    // Minutes just behind the real clock, so the close is late but within the commit grace.
    const t = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
    await s.server.analytics.runMinuteJob(t + MIN);
    const opened = t - 30_000;
    const r = await postWebhook(s.url, playClosed('late-1', opened, t + MIN + 10_000), s.apiKey);
    expect(await r.json()).toMatchObject({ accepted: 1 });
    expect((await s.server.analytics.runMinuteJob(t + 3 * MIN)).recomputedFrom).toBe(t - MIN);
    const rows = await s.server.store.streamSeries(60_000, 'default', 'global', '', t - MIN, t + 3 * MIN);
    expect(rows.find((x) => x.t === t - MIN)).toMatchObject({ sessionsStarted: 1, sessionsClosed: 0 });
    expect(rows.find((x) => x.t === t + MIN)).toMatchObject({ sessionsStarted: 0, sessionsClosed: 1 });
    const raw = await s.server.analytics.recomputeFromRaw(60_000, t - MIN, t + 3 * MIN);
    expect(rows).toEqual(raw.filter((x) => x.dimension === 'global'));
  });
});
