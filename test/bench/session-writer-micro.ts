// The session writer's own rate (no HTTP, no thread hop) against a raw better-sqlite3 floor that inserts the
// same rows (same columns and payload) into the same table, WAL, synchronous=FULL, transactions of 1,000,
// with nothing else: the gap between the two is what our writer adds (rollups, upsert logic) over SQLite.
// Each runs on a fresh database; rows are built before the clock starts.
// Run: node --import tsx test/bench/session-writer-micro.ts
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { validateSessionBody } from '../../src/ingest/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { openDatabase } from '../../src/store/sqlite/open-database.ts';
import { SessionWriter } from '../../src/store/sqlite/session-writer.ts';
import { INSERT_NEW_SESSION_SQL, pushSessionRow, SESSION_ROW_WIDTH } from '../../src/store/sqlite/session-rows.ts';
import { BodyFactory } from './payloads.ts';

const GROUPS = Number(process.env.GROUPS ?? 60);
const REQUESTS_PER_GROUP = 10;
const SESSIONS_PER_REQUEST = 100;

type Group = { values: unknown[]; counts: number[] };

/** A migrated database with the default app, in a fresh temporary directory. */
async function freshDatabase(): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-micro-'));
  const file = path.join(dir, 'm3w.db');
  const store = await SqliteStore.open({ file, durability: 'full' });
  await store.ensureApp('default', 'Default', Date.now());
  await store.close();
  return { dir, file };
}

/** Groups of 1,000 sessions (10 requests of 100), validated and flattened as the HTTP path does. */
function makeGroups(): Group[] {
  const bodies = new BodyFactory(SESSIONS_PER_REQUEST);
  return Array.from({ length: GROUPS }, () => {
    const values: unknown[] = [];
    const counts: number[] = [];
    for (let r = 0; r < REQUESTS_PER_GROUP; r++) {
      const v = validateSessionBody(JSON.parse(bodies.next()), 1000);
      if (!v.ok) throw new Error(JSON.stringify(v.issues));
      for (const s of v.sessions) pushSessionRow(values, 'default', s, Date.now());
      counts.push(v.sessions.length);
    }
    return { values, counts };
  });
}

const SESSIONS_MEASURED = (GROUPS - 1) * REQUESTS_PER_GROUP * SESSIONS_PER_REQUEST;

/** Wall-clock rate, and CPU time per session (user + system, this process): the latter barely moves with load. */
export interface Measured {
  sessionsPerSec: number;
  cpuUsPerSession: number;
  sessions: number;
}

function measured(started: number, cpu: NodeJS.CpuUsage): Measured {
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    sessionsPerSec: SESSIONS_MEASURED / seconds,
    cpuUsPerSession: (used.user + used.system) / SESSIONS_MEASURED,
    sessions: SESSIONS_MEASURED,
  };
}

export async function measureSessionWriter(): Promise<Measured> {
  const { dir, file } = await freshDatabase();
  try {
    const writer = new SessionWriter(file, 'full');
    const groups = makeGroups();
    // Warm-up group, not measured.
    writer.write({ seq: 0, ...groups[0]! });
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let g = 1; g < groups.length; g++) {
      const r = writer.write({ seq: g, ...groups[g]! });
      if (r.errors.some((e) => e !== null)) throw new Error(`writer failed: ${r.errors.find((e) => e)}`);
    }
    const m = measured(started, cpu);
    writer.close();
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The floor: the same rows through the writer's own insert statement (so the same columns, payload and table,
 * indexes included), one plain statement per row, one transaction per 1,000 rows, WAL, synchronous=FULL; no
 * rollups, no replace logic, no message decoding.
 */
export async function measureRawSqliteFloor(): Promise<Measured> {
  const { dir, file } = await freshDatabase();
  try {
    const db: Database.Database = openDatabase(file, { durability: 'full' });
    const insert = db.prepare(INSERT_NEW_SESSION_SQL);
    const groups = makeGroups();
    const commit = db.transaction((values: unknown[]) => {
      for (let b = 0; b < values.length; b += SESSION_ROW_WIDTH) insert.run(values.slice(b, b + SESSION_ROW_WIDTH));
    });
    commit(groups[0]!.values);
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let g = 1; g < groups.length; g++) commit(groups[g]!.values);
    const m = measured(started, cpu);
    db.close();
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Alternates writer and floor three times each (the machine's load drifts; alternating shares it out). */
export async function writerAgainstFloor(): Promise<{ writer: Measured[]; floor: Measured[] }> {
  const writer: Measured[] = [];
  const floor: Measured[] = [];
  for (let i = 0; i < 3; i++) {
    floor.push(await measureRawSqliteFloor());
    writer.push(await measureSessionWriter());
  }
  return { writer, floor };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writer, floor } = await writerAgainstFloor();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  const show = (ms: Measured[]) =>
    `${ms.map((m) => Math.round(m.sessionsPerSec)).join(', ')}/s, CPU ${ms.map((m) => m.cpuUsPerSession.toFixed(1)).join(', ')} µs each`;
  console.log(
    `session writer: ${show(writer)}; raw better-sqlite3 floor: ${show(floor)} (groups of ${REQUESTS_PER_GROUP * SESSIONS_PER_REQUEST}); ` +
      `writer/floor rate ${(median(writer.map((m) => m.sessionsPerSec)) / median(floor.map((m) => m.sessionsPerSec))).toFixed(2)}, ` +
      `CPU ${(median(writer.map((m) => m.cpuUsPerSession)) / median(floor.map((m) => m.cpuUsPerSession))).toFixed(2)}`,
  );
}
