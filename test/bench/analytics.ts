// Analytics benchmarks (part of `npm run bench`; alone: node --import tsx test/bench/analytics.ts):
//   (d) POST /api/webhook, batches of 100 events, against an m3w child process (target ≥ 50,000 events/s)
//   (e) the minute job with 100,000 open play sessions, in this process (target ≤ 200 ms, no slice > 50 ms)
//   (f) a 30-day /api/v1/qoe/timeseries query with 10 million stored SDK sessions (target p95 ≤ 50 ms);
//       the database is filled through the store's public write path (the session writer, rollups included),
//       then an m3w child answers the queries, spot-checked against a brute force over the same sessions.
// A missed target or a failed check is recorded (targets.ts) and makes the run exit non-zero.
// BENCH_QOE_SESSIONS overrides the 10 million (e.g. for a quick look).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { createApiKey } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { AnalyticsEngine } from '../../src/engine/index.ts';
import type { IngestedSession, PlayEvent } from '../../src/ingest/index.ts';
import { validateSessionSummary } from '../../src/ingest/session-summary.ts';
import { createLogger } from '../../src/observability/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { Ledger, runLoad } from './load.ts';
import { reportTargets, target } from './targets.ts';
import type { BodyFactory } from './payloads.ts';
import { liveChildren, startM3w } from './servers.ts';
import { prng } from '../helpers/prng.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Webhook bodies of 100 events: 50 new sessions opened, and the 50 opened by the previous body closed. */
class WebhookBodies {
  readonly sessionsPerBody = 100;
  /** Bodies made (each is sent, and re-sent until answered). */
  generated = 0;
  private seq = 0;
  private previous: string[] = [];
  private readonly prefix = randomBytes(4).toString('hex');

  next(): string {
    const now = Date.now();
    const events: string[] = [];
    const opened: string[] = [];
    for (let i = 0; i < 50; i++) {
      const id = `${this.prefix}-${(this.seq++).toString(36)}`;
      opened.push(id);
      events.push(
        `{"time":"${new Date(now).toISOString()}","event":"play_started","id":"${id}","server":"edge${i % 4}.example.com","media":"ch${i % 40}","user_id":"${i * 7}","ip":"10.1.${i}.${this.seq % 250}","country":"${['AU', 'DE', 'US', 'BR'][i % 4]}","proto":"hls","bytes":0,"user_agent":"ExoPlayerLib/2.19.1 (Linux; Android 14) ExoPlayerLib/2.19.1","opened_at":${now - 1000}}`,
      );
    }
    for (const id of this.previous)
      events.push(
        `{"event":"play_closed","id":"${id}","media":"ch1","server":"edge1.example.com","bytes":1234567,"opened_at":${now - 60_000},"closed_at":${now},"reason":"normal"}`,
      );
    this.previous = opened;
    this.generated++;
    return `[${events.join(',')}]`;
  }
}

async function webhookThroughput(): Promise<void> {
  console.log('running (d) webhook events/s, batches of 100 ...');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-webhook-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const child = await startM3w({ dataDir: dir, apiKey });
  const headers = { 'Content-Type': 'application/json', 'X-API-Key': apiKey };
  try {
    const bodies = new WebhookBodies();
    // What the server says it did with each event: the throughput counts `accepted`, not events sent.
    let duplicates = 0;
    let rejected = 0;
    const acceptedIn = (body: string) => {
      try {
        const answer = JSON.parse(body) as { accepted?: number; duplicates?: number; rejected?: unknown[] };
        duplicates += answer.duplicates ?? 0;
        rejected += answer.rejected?.length ?? 0;
        return answer.accepted ?? 0;
      } catch {
        return 0;
      }
    };
    const ledger = new Ledger(100);
    const f = await runLoad(
      {
        url: child.url,
        path: '/api/webhook',
        headers,
        bodies: bodies as unknown as BodyFactory,
        connections: 50,
        warmupSec: 3,
        durationSec: 10,
        serverPid: child.pid,
        acceptedIn,
      },
      ledger,
    );
    let resentAccepted = 0;
    await ledger.resend(`${child.url}/api/webhook`, headers, (body) => (resentAccepted += acceptedIn(body)));
    const eventsPerSec = f.accepted!.perSec;
    console.log(
      `(d) webhook, 100 events/request: ${fmt(f.reqPerSec)} req/s, ${fmt(eventsPerSec)} events accepted/s (target ≥ 50,000), p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, non-2xx ${f.non2xx}, errors ${f.errors}` +
        (f.cpu
          ? `; CPU cores server ${fmt(f.cpu.server, 2)} (main ${fmt(f.cpu.serverMain, 2)}), client ${fmt(f.cpu.client, 2)}, others ${fmt(f.cpu.others, 2)}`
          : ''),
    );
    target('(d) webhook ≥ 50,000 events accepted/s', `${fmt(eventsPerSec)} events/s`, eventsPerSec >= 50_000);
    await child.stop();

    // Every body was answered once (re-sent if autocannon cut it off): each event accepted or, for a re-sent
    // body the server had already committed, a duplicate; and the rows are exactly the sessions sent.
    const sentBodies = bodies.generated;
    const eventsSent = 50 * sentBodies + 50 * (sentBodies - 1);
    const accepted = f.accepted!.total + resentAccepted;
    const db = new Database(path.join(dir, 'm3w.db'), { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT count(*) FROM play_sessions').pluck().get() as number;
    const closed = db.prepare('SELECT count(*) FROM play_sessions WHERE closed_at IS NOT NULL').pluck().get() as number;
    db.close();
    const books = `${fmt(sentBodies)} bodies, ${fmt(eventsSent)} events: ${fmt(accepted)} accepted + ${fmt(duplicates)} duplicates, ${fmt(rejected)} rejected, ${fmt(ledger.unansweredBodies + ledger.rejectedSessions / 100)} bodies unanswered or refused; ${fmt(rows)} play sessions stored (${fmt(closed)} closed), ${fmt(50 * sentBodies)} (${fmt(50 * (sentBodies - 1))}) expected`;
    console.log(`    ${books}`);
    target(
      '(d) every webhook event accepted once, and the rows are the sessions sent',
      books,
      accepted + duplicates === eventsSent &&
        rejected === 0 &&
        ledger.unansweredBodies === 0 &&
        ledger.rejectedSessions === 0 &&
        rows === 50 * sentBodies &&
        closed === 50 * (sentBodies - 1),
    );
  } finally {
    if (liveChildren.has(child)) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function minuteJobWithOpenSessions(): Promise<void> {
  const OPEN = 100_000;
  console.log(`running (e) minute job with ${fmt(OPEN)} open sessions ...`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-minute-'));
  try {
    const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent' } });
    const store = await SqliteStore.open({ file: config.databasePath, durability: 'normal' });
    // Two minutes before a whole hour: the five runs below include the one that also rolls up the hour,
    // which still visits every open session.
    const now = Math.ceil(Date.now() / HOUR) * HOUR - 2 * MIN;
    for (let b = 0; b < OPEN; b += 1000) {
      const events: PlayEvent[] = [];
      for (let i = b; i < b + 1000; i++)
        events.push({
          event: 'play_started',
          id: `open-${i}`,
          server: `edge${i % 8}`,
          channel: `ch${i % 500}`,
          country: ['AU', 'DE', 'US', 'BR', 'JP'][i % 5]!,
          protocol: ['hls', 'dash'][i % 2]!,
          device: (['android', 'ios', 'tv', 'desktop'] as const)[i % 4]!,
          userId: `u${i}`,
          userName: null,
          address: null,
          userAgent: null,
          openedAt: now - 30 * MIN + (i % 1800) * 1000,
          closedAt: null,
          bytes: 0,
          reason: null,
          raw: '{}',
        });
      await store.ingestPlayEvents(events, Date.now());
    }
    const engine = new AnalyticsEngine(store, config, createLogger({ level: 'silent' }));
    await engine.start({ schedules: false });
    await engine.runMinuteJob(now); // first run: sets the starting minute
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const runs = [];
    for (let k = 1; k <= 5; k++) {
      loop.enable();
      runs.push(await engine.runMinuteJob(now + k * MIN));
      loop.disable();
    }
    console.log(
      `(e) minute job, ${fmt(engine.live.size)} open sessions: ${runs.map((r) => `${fmt(r.durationMs)}${r.hours ? ' (with the hour)' : ''}`).join(', ')} ms (target ≤ 200 ms); ` +
        `longest synchronous slice ${fmt(Math.max(...runs.map((r) => r.longestSliceMs)), 1)} ms (${runs.reduce((a, r) => (r.longestSliceMs > a.longestSliceMs ? r : a)).longestSliceAt}), event-loop delay max ${fmt(loop.max / 1e6, 1)} ms (target ≤ 50 ms)`,
    );
    const longest = Math.max(...runs.map((r) => r.durationMs));
    target(
      `(e) minute job with ${fmt(OPEN)} open sessions ≤ 200 ms (every minute, the hourly one included)`,
      `${fmt(longest)} ms`,
      longest <= 200,
    );
    const slice = Math.max(...runs.map((r) => r.longestSliceMs));
    target('(e) no synchronous slice of the minute job > 50 ms', `${fmt(slice, 1)} ms`, slice <= 50);
    await engine.stop();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The sessions of a few hours, kept as generated, for a brute-force answer to compare the API's with. */
interface SpotHour {
  t: number;
  startups: number[];
  rebuffer: number;
  play: number;
  us: number;
  usFailed: number;
}

/**
 * Fills a database with `total` sessions over 30 days through the store's public write path (validation,
 * then the session writer, which keeps the rollups in the same transaction), as ingestion would.
 */
async function populateQoe(file: string, total: number, now: number, spots: Map<number, SpotHour>): Promise<void> {
  const store = await SqliteStore.open({ file, durability: 'normal' });
  await store.ensureApp('default', 'Default app', Date.now());
  const rand = prng(3);
  const start = Math.floor(now / HOUR) * HOUR - 30 * DAY;
  const hours = 30 * 24;
  const perHour = Math.ceil(total / hours);
  const COUNTRIES = ['US', 'DE', 'FR', 'BR', 'IN', 'JP', 'GB', 'NG'];
  let n = 0;
  const began = performance.now();
  // A few groups in flight: the writer commits one while the next is validated and queued.
  const inFlight = new Set<Promise<void>>();
  for (let h = 0; h < hours; h++) {
    const t0 = start + h * HOUR;
    let batch: IngestedSession[] = [];
    for (let i = 0; i < perHour && n < total; i++, n++) {
      const ts = t0 + Math.floor(rand() * HOUR);
      const summary = {
        sessionId: `s${n}`,
        timestamp: ts,
        sessionStartDateIso: new Date(ts - 600_000).toISOString(),
        sessionDurationMs: 600_000,
        startupTimeMs: Math.floor(200 + Math.exp(rand() * 8)),
        rebufferTimeMs: rand() < 0.7 ? 0 : Math.floor(rand() * 8000),
        playTimeMs: 590_000,
        totalDroppedFrames: Math.floor(rand() * 30),
        errorCount: rand() < 0.03 ? 1 : 0,
        meanVideoFormatBitrate: Math.floor(1e6 + rand() * 6e6),
        contentId: `content-${Math.floor(rand() * 2000)}`,
        streamType: rand() < 0.3 ? 'live' : 'vod',
        appVersion: `3.${Math.floor(rand() * 5)}.0`,
        deviceModel: `model-${Math.floor(rand() * 40)}`,
        os: `Android ${11 + Math.floor(rand() * 4)}`,
        country: COUNTRIES[Math.floor(rand() * 8)]!,
        cdn: ['cdn-a', 'cdn-b', 'cdn-c'][Math.floor(rand() * 3)]!,
        playerName: 'media3',
      };
      const spot = spots.get(Math.floor(ts / HOUR) * HOUR);
      if (spot) {
        spot.startups.push(summary.startupTimeMs);
        spot.rebuffer += summary.rebufferTimeMs;
        spot.play += summary.playTimeMs;
        if (summary.country === 'US') {
          spot.us++;
          if (summary.errorCount > 0) spot.usFailed++;
        }
      }
      const v = validateSessionSummary(summary);
      if (!v.ok) throw new Error(`bench session invalid: ${JSON.stringify(v.issues)}`);
      batch.push(v.session);
      if (batch.length === 1000 || i === perHour - 1 || n === total - 1) {
        const p = store.upsertSessions('default', batch, ts).then(() => void inFlight.delete(p));
        inFlight.add(p);
        batch = [];
        if (inFlight.size >= 3) await Promise.race(inFlight);
      }
    }
    if (h % 72 === 71) console.log(`  … ${fmt(n)} sessions stored (${fmt((performance.now() - began) / 1000, 0)} s)`);
  }
  await Promise.all(inFlight);
  await store.close();
}

async function qoeQueryLatency(): Promise<void> {
  const total = Number(process.env.BENCH_QOE_SESSIONS ?? 10_000_000);
  console.log(`running (f) 30-day qoe/timeseries with ${fmt(total)} stored sessions (filling the database first) ...`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-qoe-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  try {
    const file = path.join(dir, 'm3w.db');
    const now = Date.now();
    const firstHour = Math.floor(now / HOUR) * HOUR - 30 * DAY;
    const spots = new Map<number, SpotHour>(
      [37, 361, 700].map((h) => {
        const t = firstHour + h * HOUR;
        return [t, { t, startups: [], rebuffer: 0, play: 0, us: 0, usFailed: 0 }];
      }),
    );
    const filled = performance.now();
    await populateQoe(file, total, now, spots);
    const fillSec = (performance.now() - filled) / 1000;
    console.log(`  filled through the session writer in ${fmt(fillSec, 0)} s (${fmt(total / fillSec)} sessions/s)`);
    const store = await SqliteStore.open({ file, durability: 'normal' });
    const { key: readKey } = await createApiKey(store, { appId: 'default', name: 'bench reader', scopes: ['read'] });
    await store.close();
    const child = await startM3w({ dataDir: dir, apiKey });
    try {
      const queries = [
        `metric=startup_p95_ms&from=${now - 30 * DAY}&to=${now}`,
        `metric=rebuffer_pct&from=${now - 30 * DAY}&to=${now}`,
        `metric=playback_failure_pct&from=${now - 30 * DAY}&to=${now}&filter[country]=US`,
      ];
      const answers: Array<Array<{ t: number; value: number | null }>> = [];
      for (const q of queries) {
        const times: number[] = [];
        let points: Array<{ t: number; value: number | null }> = [];
        for (let i = 0; i < 120; i++) {
          const t = performance.now();
          const res = await fetch(`${child.url}/api/v1/qoe/timeseries?${q}`, { headers: { 'x-api-key': readKey } });
          const body = (await res.json()) as { points?: Array<{ t: number; value: number | null }> };
          if (res.status !== 200 || (body.points?.length ?? 0) < 720)
            throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
          if (i >= 20) times.push(performance.now() - t);
          points = body.points!;
        }
        answers.push(points);
        times.sort((a, b) => a - b);
        const p = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
        console.log(
          `(f) GET /api/v1/qoe/timeseries?${q.replace(/from=\d+&to=\d+/, '<30 days>')}: p50 ${fmt(p(0.5), 1)} ms, p95 ${fmt(p(0.95), 1)} ms (target ≤ 50 ms), ${720} hourly points`,
        );
        target(
          `(f) 30-day qoe/timeseries ${q.split('&')[0]}${q.includes('filter') ? ' (filtered)' : ''} p95 ≤ 50 ms`,
          `${fmt(p(0.95), 1)} ms`,
          p(0.95) <= 50,
        );
      }
      // The answers, spot-checked against the same sessions counted here.
      const wrong: string[] = [];
      for (const spot of spots.values()) {
        const at = (i: number) => answers[i]!.find((pt) => pt.t === spot.t)?.value ?? null;
        const sorted = [...spot.startups].sort((a, b) => a - b);
        const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
        // name, answered, brute force, allowed error: the p95 comes from 10 % histogram buckets (within 5 %);
        // percentages are answered to 4 decimals.
        const checks: Array<[string, number | null, number, number]> = [
          ['startup_p95_ms', at(0), p95, 0.05 * p95],
          ['rebuffer_pct', at(1), (100 * spot.rebuffer) / (spot.rebuffer + spot.play), 0.00005 + 1e-9],
          ['playback_failure_pct US', at(2), (100 * spot.usFailed) / spot.us, 0.00005 + 1e-9],
        ];
        for (const [name, got, want, tolerance] of checks)
          if (got === null || Math.abs(got - want) > tolerance)
            wrong.push(`${name} at ${new Date(spot.t).toISOString()}: answered ${got}, brute force ${want}`);
      }
      if (wrong.length > 0) console.log(`    wrong answers:\n      ${wrong.join('\n      ')}`);
      target(
        `(f) answers equal a brute force over the same sessions (${spots.size} hours × 3 metrics)`,
        wrong.length === 0 ? 'all equal' : `${wrong.length} differ`,
        wrong.length === 0,
      );
    } finally {
      await child.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** BENCH_ONLY=d|e|f runs one scenario. */
export async function runAnalyticsBench(): Promise<void> {
  console.log('\n## Analytics benchmarks\n');
  const only = process.env.BENCH_ONLY;
  if (!only || only === 'd') await webhookThroughput();
  if (!only || only === 'e') await minuteJobWithOpenSessions();
  if (!only || only === 'f') await qoeQueryLatency();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await runAnalyticsBench();
    reportTargets();
  } finally {
    for (const c of liveChildren) c.proc.kill('SIGKILL');
  }
}
