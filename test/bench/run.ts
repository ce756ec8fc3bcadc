// `npm run bench`: ingestion throughput of m3w against its floors, in one run on this machine.
//   (a) floor: plain node:http + JSON.parse, no database (servers.ts, floor-server.ts), 50 connections
//   (a2) durable floor: (a) plus a group commit of each body into m3w's sessions table, nothing else
//       (durable-floor-server.ts), 50 connections: the most any durable server gets here
//   (b) m3w: POST /v1/sessions, one session per request, durability full, 50 connections
//   (c) m3w: batches of 100 sessions, and (c2) of 1,000, 16 connections
//   (w) the session writer alone against a raw better-sqlite3 floor inserting the same rows
//   (b') and (c') again with 10 M sessions already stored (`npm run bench -- --big`; BENCH_STORED_SESSIONS sets
//       another count), seeded through the writer within BENCH_SEED_BUDGET_SEC (600 by default; fewer sessions
//       when it runs out, and the bench says how many); they must stay ≥ 0.8× the empty-database figures
// Each server runs in its own child process; autocannon runs here. Prints figures per scenario, checks that
// the database holds exactly the sessions acknowledged, and ends with a markdown table for the README. Exits
// non-zero when a target is missed or a check fails (test/bench/targets.ts). BENCH_ONLY=ingest skips the
// live-feed, analytics, watch-party (rooms.ts), video-library (media.ts) and Postgres (postgres.ts; skipped with a
// printed reason without TEST_DATABASE_URL) parts. Without --big (or BENCH_STORED_SESSIONS) (b') and (c') are
// skipped, which keeps the default run bounded.
// Client and server share the machine's cores, so absolute figures are noisy; ratios within a run are what to watch.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Ledger, runLoad, type LoadFigures } from './load.ts';
import { BodyFactory } from './payloads.ts';
import {
  liveChildren,
  peakRssBytes,
  rssBytes,
  startDurableFloor,
  startFloor,
  startM3w,
  type ServerChild,
} from './servers.ts';
import { liveFeedBench } from './live-feed.ts';
import { runAnalyticsBench } from './analytics.ts';
import { roomsBench } from './rooms.ts';
import { mediaBench } from './media.ts';
import { postgresBench } from './postgres.ts';
import { reportTargets, target } from './targets.ts';
import { type Measured, writerAgainstFloor } from './session-writer-micro.ts';
import { seedSessions } from './seed-sessions.ts';

const CONNECTIONS = 50;
const BATCH_CONNECTIONS = 16;
const WARMUP_SEC = 3;
const DURATION_SEC = 10;
const BATCH_SIZE = 100;
const BIG_BATCH_SIZE = 1_000;
const STORED_SESSIONS = Number(process.env.BENCH_STORED_SESSIONS ?? (process.argv.includes('--big') ? 10_000_000 : 0));
const SEED_BUDGET_SEC = Number(process.env.BENCH_SEED_BUDGET_SEC ?? 600);
// The ingestion part stays under 3 minutes; the analytics part (filling a 10-million-session database through
// the session writer) needs up to 20 more on a quiet 2-core machine. Past that the bench stops.
const DEADLINE_MS = 1_800_000;

const TARGETS = { ratio: 0.6, batchSessionsPerSec: 100_000, p99Ms: 25, batchP99Ms: 100, rssMB: 150, storedRatio: 0.8 };

interface Outcome extends LoadFigures {
  label: string;
  connections: number;
  /** Once ready, before any load: the baseline the peak grows from. */
  idleRssMB: number | null;
  peakRssMB: number | null;
  /** m3w only: rows in the sessions table and sessions acknowledged with a 2xx. */
  rows?: number;
  acked?: number;
  resent?: number;
}

const tempDirs = new Set<string>();
const warnings: string[] = [];
/** Other programs busy during a measured run: the figures are then low, not wrong. */
const contention: string[] = [];
const CONTENTION_CORES = 0.25;

function warn(message: string): void {
  warnings.push(message);
  console.log(`\n!!!!!!!!!! WARNING: ${message} !!!!!!!!!!\n`);
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number | null) => (bytes === null ? null : bytes / 1e6);

/** Loud about wrong answers; a note about other programs busy on the machine (figures low, not wrong). */
function checkRun(label: string, f: LoadFigures): void {
  if (f.non2xx > 0 || f.errors > 0)
    warn(
      `${label}: ${f.non2xx} non-2xx responses, ${f.errors} errors (${f.timeouts} timeouts); status codes ${JSON.stringify(f.statusCodes)}`,
    );
  if (f.cpu && f.cpu.others > CONTENTION_CORES) {
    contention.push(`${label}: other processes used ${fmt(f.cpu.others, 2)} of ${f.cpu.cores} cores`);
    console.log(`\n!!!!!!!!!! NOTE: ${contention.at(-1)} during the measured run; figures are depressed !!!!!!!!!!\n`);
  }
}

/** Server CPU time per acknowledged session (main thread + rest): unlike throughput, barely moved by contention. */
const cpuPerSessionText = (f: LoadFigures) =>
  f.cpu && f.sessionsPerSec > 0
    ? `${fmt((f.cpu.server * 1e6) / f.sessionsPerSec)} (${fmt((f.cpu.serverMain * 1e6) / f.sessionsPerSec)} + ${fmt(((f.cpu.server - f.cpu.serverMain) * 1e6) / f.sessionsPerSec)})`
    : 'n/a';

const cpuText = (f: LoadFigures) =>
  f.cpu
    ? `${fmt(f.cpu.server, 2)} (main ${fmt(f.cpu.serverMain, 2)}, busiest other thread ${fmt(f.cpu.serverOtherMax, 2)}) / ${fmt(f.cpu.client, 2)} / ${fmt(f.cpu.others, 2)}`
    : 'n/a';

function printOutcome(o: Outcome): void {
  console.log(
    `${o.label}: ${fmt(o.reqPerSec)} req/s, ${fmt(o.sessionsPerSec)} sessions/s, p50 ${o.p50Ms} ms, p99 ${o.p99Ms} ms, ` +
      `non-2xx ${o.non2xx}, errors ${o.errors}, RSS idle ${o.idleRssMB === null ? 'n/a' : fmt(o.idleRssMB, 1) + ' MB'}, peak ${o.peakRssMB === null ? 'n/a' : fmt(o.peakRssMB, 1) + ' MB'} ` +
      `(measured ${o.measuredSec} s)\n  CPU cores used: server / client / rest of machine: ${cpuText(o)}; ` +
      `server CPU µs per session (main thread + other threads): ${cpuPerSessionText(o)}`,
  );
  if (o.rows !== undefined)
    console.log(
      `  rows in sessions table: ${fmt(o.rows)}; sessions acknowledged with 2xx: ${fmt(o.acked!)} (of which ${fmt(o.resent!)} bodies re-sent after autocannon closed its connections)`,
    );
}

/** A server that does not exit cleanly on SIGTERM is worth a warning (m3w must drain and close the DB). */
async function stopServer(child: ServerChild, label: string): Promise<void> {
  const code = await child.stop();
  if (code !== 0) warn(`${label}: server exited with ${code}\n${child.stderr()}`);
}

async function floorScenario(durable: boolean): Promise<Outcome> {
  const label = durable
    ? '(a2) durable floor, (a) + group commit into the sessions table'
    : '(a) floor, node:http + JSON.parse';
  console.log(`running ${label} ...`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-floor-'));
  tempDirs.add(dir);
  const child = durable ? await startDurableFloor(dir) : await startFloor();
  const idleRssMB = mb(rssBytes(child.pid));
  try {
    const bodies = new BodyFactory(1);
    const f = await runLoad(
      {
        url: child.url,
        path: '/v1/sessions',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        bodies,
        connections: CONNECTIONS,
        warmupSec: WARMUP_SEC,
        durationSec: DURATION_SEC,
        serverPid: child.pid,
      },
      new Ledger(1),
    );
    checkRun(label, f);
    const peakRssMB = mb(peakRssBytes(child.pid)); // while it still lives
    await stopServer(child, label);
    return { label, connections: CONNECTIONS, ...f, idleRssMB, peakRssMB };
  } finally {
    if (liveChildren.has(child)) await child.stop();
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

interface M3wRun {
  label: string;
  sessionsPerBody: number;
  connections: number;
  /** A data directory already filled (kept afterwards); a fresh temporary one when absent. */
  dataDir?: string;
  /** Sessions already in dataDir, so the row check counts only what this run added. */
  storedBefore?: number;
}

async function m3wScenario(run: M3wRun): Promise<Outcome> {
  const { label, sessionsPerBody, connections } = run;
  console.log(`running ${label} ...`);
  const dir = run.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-'));
  if (!run.dataDir) tempDirs.add(dir);
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'X-API-Key': apiKey };
  const child = await startM3w({ dataDir: dir, apiKey });
  const idleRssMB = mb(rssBytes(child.pid));
  try {
    const bodies = new BodyFactory(sessionsPerBody);
    const ledger = new Ledger(sessionsPerBody);
    const f = await runLoad(
      {
        url: child.url,
        path: '/v1/sessions',
        headers,
        bodies,
        connections,
        warmupSec: WARMUP_SEC,
        durationSec: DURATION_SEC,
        serverPid: child.pid,
      },
      ledger,
    );
    checkRun(label, f);
    const peakRssMB = mb(peakRssBytes(child.pid)); // before the re-sends: the figure under load
    await ledger.resend(child.url + '/v1/sessions', headers);
    if (ledger.rejectedSessions > 0)
      warn(`${label}: ${ledger.rejectedSessions} sessions were rejected (incl. re-sends)`);
    await stopServer(child, label);
    // Only after the server is gone: its close checkpoints the WAL, and nothing else holds the file.
    const db = new Database(path.join(dir, 'm3w.db'), { readonly: true, fileMustExist: true });
    const rows = (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n - (run.storedBefore ?? 0);
    db.close();
    if (rows !== ledger.ackedSessions)
      warn(
        `${label}: the sessions table has ${rows} new rows but ${ledger.ackedSessions} sessions were acknowledged with 2xx`,
      );
    return {
      label,
      connections,
      ...f,
      idleRssMB,
      peakRssMB,
      rows,
      acked: ledger.ackedSessions,
      resent: ledger.resentBodies,
    };
  } finally {
    if (liveChildren.has(child)) await child.stop();
    if (!run.dataDir) {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
  }
}

const rssText = (o: Outcome) =>
  `${o.idleRssMB === null ? 'n/a' : fmt(o.idleRssMB, 1)} → ${o.peakRssMB === null ? 'n/a' : fmt(o.peakRssMB, 1)}`;

type Verdict = { target: string; figure: string; met: boolean | null };

interface Runs {
  a: Outcome;
  a2: Outcome;
  b: Outcome;
  c: Outcome;
  c2: Outcome;
  writer: { writer: Measured[]; floor: Measured[] };
  stored?: { total: number; seedSec: number; b: Outcome; c: Outcome };
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

function verdicts(r: Runs): Verdict[] {
  const ratio = r.b.reqPerSec / r.a.reqPerSec;
  const rss = [r.b, r.c, r.c2].map((o) => o.peakRssMB).filter((x): x is number => x !== null);
  const out: Verdict[] = [
    { target: `(b)/(a) requests/s ≥ ${TARGETS.ratio}`, figure: fmt(ratio, 2), met: ratio >= TARGETS.ratio },
    {
      target: `(b) p99 < ${TARGETS.p99Ms} ms at ${CONNECTIONS} connections`,
      figure: `${r.b.p99Ms} ms`,
      met: r.b.p99Ms < TARGETS.p99Ms,
    },
  ];
  for (const o of [r.c, r.c2])
    out.push(
      {
        target: `${o.label.slice(0, 4).trim()} ≥ ${fmt(TARGETS.batchSessionsPerSec)} sessions/s`,
        figure: fmt(o.sessionsPerSec),
        met: o.sessionsPerSec >= TARGETS.batchSessionsPerSec,
      },
      {
        target: `${o.label.slice(0, 4).trim()} p99 < ${TARGETS.batchP99Ms} ms at ${BATCH_CONNECTIONS} connections`,
        figure: `${o.p99Ms} ms`,
        met: o.p99Ms < TARGETS.batchP99Ms,
      },
    );
  out.push({
    target: `m3w peak RSS < ${TARGETS.rssMB} MB under load`,
    figure: rss.length ? `${fmt(Math.max(...rss), 1)} MB` : 'n/a',
    met: rss.length ? Math.max(...rss) < TARGETS.rssMB : null,
  });
  if (r.stored) {
    const n = fmt(r.stored.total);
    const rb = r.stored.b.reqPerSec / r.b.reqPerSec;
    const rc = r.stored.c.sessionsPerSec / r.c.sessionsPerSec;
    out.push(
      {
        target: `(b') with ${n} stored ≥ ${TARGETS.storedRatio}× (b)`,
        figure: fmt(rb, 2),
        met: rb >= TARGETS.storedRatio,
      },
      {
        target: `(c') with ${n} stored ≥ ${TARGETS.storedRatio}× (c)`,
        figure: fmt(rc, 2),
        met: rc >= TARGETS.storedRatio,
      },
    );
  }
  return out;
}

function printTable(r: Runs): void {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const outcomes = [r.a, r.a2, r.b, r.c, r.c2, ...(r.stored ? [r.stored.b, r.stored.c] : [])];
  console.log('\n## Ingestion benchmark (`npm run bench`)\n');
  console.log(
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${cpu}, shared by client and server; ` +
      `load average before the run ${startLoad}; ` +
      `${WARMUP_SEC} s warm-up + ${DURATION_SEC} s measured per scenario; m3w durability full, LOG_LEVEL info.\n`,
  );
  console.log(
    '| Scenario | conns | req/s | sessions/s | p50 ms | p99 ms | non-2xx | RSS MB idle → peak | server CPU µs/session |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const o of outcomes)
    console.log(
      `| ${o.label} | ${o.connections} | ${fmt(o.reqPerSec)} | ${fmt(o.sessionsPerSec)} | ${o.p50Ms} | ${o.p99Ms} | ${o.non2xx} | ${rssText(o)} | ${cpuPerSessionText(o)} |`,
    );
  const w = median(r.writer.writer.map((m) => m.sessionsPerSec));
  const f = median(r.writer.floor.map((m) => m.sessionsPerSec));
  const cpuUs = (ms: Measured[]) => ms.map((m) => fmt(m.cpuUsPerSession, 1)).join(', ');
  console.log(
    `| (w) session writer alone, groups of 1,000 (3 runs) | – | – | ${r.writer.writer.map((x) => fmt(x.sessionsPerSec)).join(', ')} | | | | | ${cpuUs(r.writer.writer)} |`,
  );
  console.log(
    `| (w) raw better-sqlite3 floor, same rows, WAL, FULL, 1,000/transaction (3 runs) | – | – | ${r.writer.floor.map((x) => fmt(x.sessionsPerSec)).join(', ')} | | | | | ${cpuUs(r.writer.floor)} |`,
  );
  console.log(`\nWriter / raw SQLite floor (medians): ${fmt(w / f, 2)}.`);
  // The part of (b)/(a) that no durable server gets here, and the part that is m3w's own.
  console.log(
    `Durable floor / parse-only floor (a2)/(a): ${fmt(r.a2.reqPerSec / r.a.reqPerSec, 2)}; m3w / durable floor (b)/(a2): ${fmt(r.b.reqPerSec / r.a2.reqPerSec, 2)}.`,
  );
  if (r.stored)
    console.log(
      `Seeding ${fmt(r.stored.total)} sessions through the session writer took ${fmt(r.stored.seedSec, 0)} s (${fmt(r.stored.total / r.stored.seedSec)} sessions/s).`,
    );
  console.log(
    `\nServer CPU per session is main thread + other threads (SQLite writer, GC). CPU cores used in the measured runs, ` +
      `server / client / rest of the machine: ${outcomes.map((o) => `${o.label.slice(0, 4).trim()} ${cpuText(o)}`).join('; ')}.`,
  );
  console.log('\n| Target | Measured | Met |');
  console.log('|---|---:|:---:|');
  for (const v of verdicts(r)) {
    target(v.target, v.figure, v.met);
    console.log(`| ${v.target} | ${v.figure} | ${v.met === null ? '?' : v.met ? 'yes' : '**no**'} |`);
  }
  for (const o of outcomes.slice(2)) {
    const name = `${o.label.slice(0, 4).trim()} new rows in DB = sessions acknowledged`;
    target(name, `${fmt(o.rows!)} / ${fmt(o.acked!)}`, o.rows === o.acked);
    console.log(`| ${name} | ${fmt(o.rows!)} / ${fmt(o.acked!)} | ${o.rows === o.acked ? 'yes' : '**no**'} |`);
  }
}

const startLoad = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' / ');

async function storedScenarios(): Promise<Runs['stored']> {
  if (!(STORED_SESSIONS > 0)) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-stored-'));
  tempDirs.add(dir);
  try {
    console.log(`seeding ${fmt(STORED_SESSIONS)} sessions through the session writer ...`);
    const seeded = await seedSessions(dir, STORED_SESSIONS, (line) => console.log(line), SEED_BUDGET_SEC);
    const seedSec = seeded.seconds;
    const total = seeded.stored;
    console.log(`  seeded ${fmt(total)} in ${fmt(seedSec, 0)} s (${fmt(total / seedSec)} sessions/s)`);
    if (total < STORED_SESSIONS)
      warn(`only ${fmt(total)} of ${fmt(STORED_SESSIONS)} sessions seeded within ${SEED_BUDGET_SEC} s`);
    const n = fmt(total);
    const b = await m3wScenario({
      label: `(b') m3w, 1 session/request, ${n} stored`,
      sessionsPerBody: 1,
      connections: CONNECTIONS,
      dataDir: dir,
      storedBefore: total,
    });
    printOutcome(b);
    const c = await m3wScenario({
      label: `(c') m3w, ${BATCH_SIZE} sessions/request, ${n} stored`,
      sessionsPerBody: BATCH_SIZE,
      connections: BATCH_CONNECTIONS,
      dataDir: dir,
      storedBefore: total + b.rows!,
    });
    printOutcome(c);
    return { total, seedSec, b, c };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

async function main(): Promise<void> {
  // A stuck server or client must not hang CI: kill what we started and clean up.
  setTimeout(() => {
    console.error(`bench: still running after ${DEADLINE_MS / 1000} s; stopping`);
    for (const c of liveChildren) c.proc.kill('SIGKILL');
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    process.exit(1);
  }, DEADLINE_MS).unref();

  console.log(`load average (1 / 5 / 15 min) at the start: ${startLoad}`);
  const a = await floorScenario(false);
  printOutcome(a);
  const a2 = await floorScenario(true);
  printOutcome(a2);
  const b = await m3wScenario({ label: '(b) m3w, 1 session/request', sessionsPerBody: 1, connections: CONNECTIONS });
  printOutcome(b);
  const c = await m3wScenario({
    label: `(c) m3w, ${BATCH_SIZE} sessions/request`,
    sessionsPerBody: BATCH_SIZE,
    connections: BATCH_CONNECTIONS,
  });
  printOutcome(c);
  const c2 = await m3wScenario({
    label: `(c2) m3w, ${fmt(BIG_BATCH_SIZE)} sessions/request`,
    sessionsPerBody: BIG_BATCH_SIZE,
    connections: BATCH_CONNECTIONS,
  });
  printOutcome(c2);
  console.log('running (w) session writer against the raw better-sqlite3 floor ...');
  const writer = await writerAgainstFloor();
  console.log(
    `(w) session writer ${writer.writer.map((x) => fmt(x.sessionsPerSec)).join(', ')} sessions/s; raw floor ${writer.floor.map((x) => fmt(x.sessionsPerSec)).join(', ')} rows/s`,
  );
  const stored = await storedScenarios();

  console.log(
    `\n(b)/(a) requests/s: ${fmt(b.reqPerSec / a.reqPerSec, 2)}; (b)/(a2): ${fmt(b.reqPerSec / a2.reqPerSec, 2)}`,
  );
  printTable({ a, a2, b, c, c2, writer, stored });
  if (process.env.BENCH_ONLY !== 'ingest') {
    await liveFeedBench();
    await runAnalyticsBench();
    await roomsBench();
    await mediaBench();
    await postgresBench();
  }
  console.log(
    `load average (1 / 5 / 15 min) at the end: ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')}`,
  );
  if (contention.length > 0)
    console.log(
      `\nNOTE: the machine was busy with other work during: ${contention.join('; ')}. Re-run on a quiet machine.`,
    );
  if (warnings.length > 0) {
    console.log(`\n!!!!!!!!!! ${warnings.length} WARNING(S) — the figures above are not trustworthy: !!!!!!!!!!`);
    for (const w of warnings) console.log(`  - ${w}`);
    process.exitCode = 1;
  }
  // Any target missed (ingestion, live feed, analytics) makes the run fail, so nobody mistakes it for a pass.
  reportTargets();
}

await main();
