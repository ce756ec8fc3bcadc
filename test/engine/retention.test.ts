// Retention: `m3w retention --dry-run` reports without deleting; the run deletes exactly what is past its
// retention (raw sessions, minute rows, hourly rows) and keeps the rest.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nextBatchSize } from '../../src/engine/retention.ts';
import { runCli } from '../helpers/child.ts';
import { postSessions, sdkSession, startTestServer, storeEnv, type TestServer } from '../helpers/server.ts';
import { playClosed, postWebhook } from './webhook-helpers.ts';

const DAY = 86_400_000;
const MIN = 60_000;

describe('retention', () => {
  let s: TestServer;
  const now = Date.now();
  const minute = Math.floor(now / MIN) * MIN;

  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    const sessions = [
      ...[1, 2, 3].map((i) =>
        sdkSession({
          sessionId: `old-${i}`,
          timestamp: now - 100 * DAY + i,
          sessionStartDateIso: new Date(now - 100 * DAY).toISOString(),
        }),
      ),
      ...[1, 2].map((i) =>
        sdkSession({
          sessionId: `new-${i}`,
          timestamp: now - DAY + i,
          sessionStartDateIso: new Date(now - DAY).toISOString(),
        }),
      ),
    ];
    expect((await postSessions(s.url, sessions, { key: s.apiKey })).status).toBe(200);
    const plays = [
      playClosed('old-play-1', now - 101 * DAY, now - 100 * DAY),
      playClosed('old-play-2', now - 101 * DAY, now - 95 * DAY),
      playClosed('new-play', now - 2 * DAY, now - DAY),
    ];
    expect(((await (await postWebhook(s.url, plays, s.apiKey)).json()) as { accepted: number }).accepted).toBe(3);
    const row = (t: number) => ({
      dimension: 'global',
      appId: 'default',
      value: '',
      t,
      sessionsStarted: 1,
      sessionsClosed: 0,
      totalBytes: 0,
      watchTimeSeconds: 60,
      uniqueUsers: 1,
      peakConcurrent: 1,
    });
    const store = s.server.store;
    await store.replaceStreamRollups(60_000, minute - 20 * DAY, minute - 20 * DAY + 3 * MIN, [
      row(minute - 20 * DAY),
      row(minute - 20 * DAY + MIN),
      row(minute - 20 * DAY + 2 * MIN),
    ]);
    await store.replaceStreamRollups(60_000, minute - MIN, minute, [row(minute - MIN)]);
    const hour = Math.floor((now - 1200 * DAY) / 3_600_000) * 3_600_000;
    await store.replaceStreamRollups(3_600_000, hour, hour + 3_600_000, [row(hour)]);
  });
  afterAll(() => s.close());

  const dryRun = () => runCli(['retention', '--dry-run', '--data-dir', s.dir], { cwd: s.dir, env: storeEnv(s) });

  test('--dry-run prints what would go and deletes nothing', async () => {
    const r = dryRun();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Dry run: nothing is deleted\./);
    expect(r.stdout).toMatch(/raw SDK sessions before .* \(retentionDays 90\): would delete 3\n/);
    expect(r.stdout).toMatch(/closed play sessions before .*: would delete 2\n/);
    // 3 stream minutes + 1 QoE minute row (the old sessions share one minute and have only the global dimension).
    expect(r.stdout).toMatch(/minute rollup rows before .*: would delete 4\n/);
    // The stream hour from 1200 days ago; the QoE hour of the old sessions is within hourlyRollupDays.
    expect(r.stdout).toMatch(/hourly rollup rows before .*: would delete 1\n/);
    expect(await s.server.store.countSessions()).toBe(5);
    expect(await s.server.store.getPlaySession('default', 'old-play-1')).not.toBeNull();
  });

  test('the run deletes exactly that, and a second dry run finds nothing', async () => {
    const report = await s.server.analytics.runRetention(false);
    expect(report.counts).toEqual({ sessions: 3, playSessions: 2, minuteRows: 4, hourRows: 1, moments: 0 });
    expect(await s.server.store.countSessions()).toBe(2);
    expect(await s.server.store.getPlaySession('default', 'old-play-1')).toBeNull();
    expect(await s.server.store.getPlaySession('default', 'new-play')).not.toBeNull();
    expect(await s.server.store.streamSeries(60_000, 'default', 'global', '', minute - MIN, minute)).toHaveLength(1);
    expect(dryRun().stdout).toMatch(/raw SDK sessions .*would delete 0\n(.*would delete 0\n){4}/);
  });
});

describe('retention batches', () => {
  test('adapt to take about 10 ms each: proportional, at least 50 rows, at most doubling and at most 2,000', () => {
    expect(nextBatchSize(2000, 300)).toBe(67);
    expect(nextBatchSize(100, 400)).toBe(50);
    expect(nextBatchSize(1000, 10)).toBe(1000);
    expect(nextBatchSize(100, 1)).toBe(200);
    expect(nextBatchSize(100, 0)).toBe(200);
    expect(nextBatchSize(1500, 2)).toBe(2000);
  });

  // Batches start at 50 rows and at most double, so 1,000 sessions take at least five of them.
  test('many batches delete every expired session and keep the rest', async () => {
    const s = await startTestServer({ rateLimit: { requests: 1_000_000, windowSec: 60 } }, undefined, {
      analyticsSchedules: false,
    });
    try {
      const now = Date.now();
      const old = Array.from({ length: 1000 }, (_, i) =>
        sdkSession({
          sessionId: `old-${i}`,
          timestamp: now - 100 * DAY + i,
          sessionStartDateIso: new Date(now - 100 * DAY + i * MIN).toISOString(),
        }),
      );
      expect((await postSessions(s.url, old, { key: s.apiKey })).status).toBe(200);
      const kept = [sdkSession({ sessionId: 'new-1', timestamp: now - DAY })];
      expect((await postSessions(s.url, kept, { key: s.apiKey })).status).toBe(200);
      const report = await s.server.analytics.runRetention(false);
      expect(report.counts.sessions).toBe(1000);
      expect(await s.server.store.countSessions()).toBe(1);
    } finally {
      await s.close();
    }
  });
});
