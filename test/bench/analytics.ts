// Analytics benchmarks (part of `npm run bench`; alone: node --import tsx test/bench/analytics.ts):
//   (d) POST /api/webhook, batches of 100 events, against an m3w child process (target ≥ 50,000 events/s)
//   (e) the minute job with 100,000 open play sessions, in this process (target ≤ 200 ms, no slice > 50 ms)
//   (f) a 30-day /api/v1/qoe/timeseries query with 10 million stored SDK sessions (target p95 ≤ 50 ms);
//       the database is filled directly (raw rows and their rollups), then an m3w child answers the queries.
// Figures are printed, never asserted. BENCH_QOE_SESSIONS overrides the 10 million (e.g. for a quick look).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { createApiKey } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { AnalyticsEngine } from '../../src/engine/index.ts';
import { encodeHistogram } from '../../src/tools/startup-histogram.ts';
import type { PlayEvent } from '../../src/ingest/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { SqliteStore, type QoeRollupRow } from '../../src/store/index.ts';
import { qoeRowsFromSessions } from '../../src/store/sqlite/qoe-rollup-writer.ts';
import { SESSION_COLUMNS } from '../../src/store/sqlite/session-rows.ts';
import { Ledger, runLoad } from './load.ts';
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
    return `[${events.join(',')}]`;
  }
}

async function webhookThroughput(): Promise<void> {
  console.log('running (d) webhook events/s, batches of 100 ...');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-webhook-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const child = await startM3w({ dataDir: dir, apiKey });
  try {
    const bodies = new WebhookBodies();
    const f = await runLoad(
      {
        url: child.url,
        path: '/api/webhook',
        headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
        bodies: bodies as unknown as BodyFactory,
        connections: 50,
        warmupSec: 3,
        durationSec: 10,
        serverPid: child.pid,
      },
      new Ledger(100),
    );
    console.log(
      `(d) webhook, 100 events/request: ${fmt(f.reqPerSec)} req/s, ${fmt(f.sessionsPerSec)} events/s (target ≥ 50,000), p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, non-2xx ${f.non2xx}, errors ${f.errors}` +
        (f.cpu
          ? `; CPU cores server ${fmt(f.cpu.server, 2)} (main ${fmt(f.cpu.serverMain, 2)}), client ${fmt(f.cpu.client, 2)}, others ${fmt(f.cpu.others, 2)}`
          : ''),
    );
  } finally {
    await child.stop();
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
    await engine.stop();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills a fresh database with `total` sessions over 30 days and the rollups ingestion would have written. */
async function populateQoe(file: string, total: number, now: number): Promise<void> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const insertSession = db.prepare(
    `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')}) VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})`,
  );
  const rollup = (table: string, t: string) =>
    db.prepare(
      `INSERT INTO ${table} (app_id, dimension, value, ${t}, sessions, sessions_with_errors, startup_sum, startup_count, rebuffer_sum, rebuffer_count, play_sum, play_count, dropped_sum, dropped_count, seeks_sum, seeks_count, bitrate_sum, bitrate_count, startup_hist) VALUES (${new Array(19).fill('?').join(', ')})`,
    );
  const insertMinute = rollup('qoe_minutes', 'minute');
  // Indexes are built once at the end, as a restore would: far faster than maintaining them row by row.
  const indexes = db
    .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' AND sql IS NOT NULL")
    .pluck()
    .all() as string[];
  for (const sql of indexes) db.exec(`DROP INDEX ${/CREATE INDEX (\w+)/.exec(sql)![1]}`);
  const insertHour = rollup('qoe_hours', 'hour');
  const put = (stmt: Database.Statement, r: QoeRollupRow) =>
    stmt.run(
      r.appId,
      r.dimension,
      r.value,
      r.t,
      r.sessions,
      r.sessionsWithErrors,
      r.startupSum,
      r.startupCount,
      r.rebufferSum,
      r.rebufferCount,
      r.playSum,
      r.playCount,
      r.droppedSum,
      r.droppedCount,
      r.seeksSum,
      r.seeksCount,
      r.bitrateSum,
      r.bitrateCount,
      encodeHistogram(r.startupHist),
    );
  const rand = prng(3);
  const start = Math.floor(now / HOUR) * HOUR - 30 * DAY;
  const hours = 30 * 24;
  const perHour = Math.ceil(total / hours);
  const col = Object.fromEntries(SESSION_COLUMNS.map((c, i) => [c, i])) as Record<
    (typeof SESSION_COLUMNS)[number],
    number
  >;
  let n = 0;
  const began = performance.now();
  for (let h = 0; h < hours; h++) {
    const t0 = start + h * HOUR;
    const rows: unknown[][] = [];
    for (let i = 0; i < perHour && n < total; i++, n++) {
      const r = new Array<unknown>(SESSION_COLUMNS.length).fill(null);
      const ts = t0 + Math.floor(rand() * HOUR);
      r[col.app_id] = 'default';
      r[col.session_id] = `s${n}`;
      r[col.timestamp] = ts;
      r[col.session_start_date_iso] = new Date(ts - 600_000).toISOString();
      r[col.session_start_ms] = ts - 600_000;
      r[col.session_duration_ms] = 600_000;
      r[col.startup_time_ms] = Math.floor(200 + Math.exp(rand() * 8));
      r[col.rebuffer_time_ms] = rand() < 0.7 ? 0 : Math.floor(rand() * 8000);
      r[col.play_time_ms] = 590_000;
      r[col.total_dropped_frames] = Math.floor(rand() * 30);
      r[col.error_count] = rand() < 0.03 ? 1 : 0;
      r[col.mean_video_format_bitrate] = Math.floor(1e6 + rand() * 6e6);
      r[col.content_id] = `content-${Math.floor(rand() * 2000)}`;
      r[col.stream_type] = rand() < 0.3 ? 'live' : 'vod';
      r[col.app_version] = `3.${Math.floor(rand() * 5)}.0`;
      r[col.device_model] = `model-${Math.floor(rand() * 40)}`;
      r[col.os] = `Android ${11 + Math.floor(rand() * 4)}`;
      r[col.country] = ['US', 'DE', 'FR', 'BR', 'IN', 'JP', 'GB', 'NG'][Math.floor(rand() * 8)];
      r[col.cdn] = ['cdn-a', 'cdn-b', 'cdn-c'][Math.floor(rand() * 3)];
      r[col.player_name] = 'media3';
      r[col.received_at] = ts;
      r[col.payload] = '{}';
      rows.push(r);
    }
    db.transaction(() => {
      for (const r of rows) insertSession.run(r);
      for (const r of qoeRowsFromSessions(rows, 3_600_000)) put(insertHour, r);
      if (t0 >= now - 14 * DAY) for (const r of qoeRowsFromSessions(rows, 60_000)) put(insertMinute, r);
    })();
    if (h % 72 === 71) console.log(`  … ${fmt(n)} sessions stored (${fmt((performance.now() - began) / 1000, 0)} s)`);
  }
  for (const sql of indexes) db.exec(sql);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function qoeQueryLatency(): Promise<void> {
  const total = Number(process.env.BENCH_QOE_SESSIONS ?? 10_000_000);
  console.log(`running (f) 30-day qoe/timeseries with ${fmt(total)} stored sessions (filling the database first) ...`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-qoe-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  try {
    const file = path.join(dir, 'm3w.db');
    const store = await SqliteStore.open({ file, durability: 'normal' });
    await store.ensureApp('default', 'Default app', Date.now());
    const { key: readKey } = await createApiKey(store, { appId: 'default', name: 'bench reader', scopes: ['read'] });
    await store.close();
    const now = Date.now();
    const filled = performance.now();
    await populateQoe(file, total, now);
    console.log(`  filled in ${fmt((performance.now() - filled) / 1000, 0)} s`);
    const child = await startM3w({ dataDir: dir, apiKey });
    try {
      const queries = [
        `metric=startup_p95_ms&from=${now - 30 * DAY}&to=${now}`,
        `metric=rebuffer_pct&from=${now - 30 * DAY}&to=${now}`,
        `metric=playback_failure_pct&from=${now - 30 * DAY}&to=${now}&filter[country]=US`,
      ];
      for (const q of queries) {
        const times: number[] = [];
        for (let i = 0; i < 120; i++) {
          const t = performance.now();
          const res = await fetch(`${child.url}/api/v1/qoe/timeseries?${q}`, { headers: { 'x-api-key': readKey } });
          const body = (await res.json()) as { points?: unknown[] };
          if (res.status !== 200 || (body.points?.length ?? 0) < 720)
            throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
          if (i >= 20) times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        const p = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
        console.log(
          `(f) GET /api/v1/qoe/timeseries?${q.replace(/from=\d+&to=\d+/, '<30 days>')}: p50 ${fmt(p(0.5), 1)} ms, p95 ${fmt(p(0.95), 1)} ms (target ≤ 50 ms), ${720} hourly points`,
        );
      }
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
  } finally {
    for (const c of liveChildren) c.proc.kill('SIGKILL');
  }
}
