// Partitions of the large tables (migration 0006): sessions by UTC day of the session start, minute rollups by
// day, hourly rollups by month, each with a DEFAULT partition. Upkeep creates them ahead of time; retention drops
// a partition whole once every row in it is expired (the rest, DEFAULT included, goes row by row as before).
// Both take the ingest lock first: ingest and these DDL statements then never wait on each other's table locks
// halfway (no deadlock), and a short lock_timeout keeps a busy reader from stalling ingestion behind them.
import type pg from 'pg';
import type { RetentionCounts, RetentionCutoffs } from '../types.ts';
import { transaction } from './database.ts';
import { INGEST_LOCK } from './session-ingest.ts';

/** How long upkeep and partition drops wait for a table lock before giving up until their next run. */
const LOCK_TIMEOUT = '5s';

/** Partitioned tables, their partition key and which retention cut-off and count they fall under. */
const PARTITIONED = [
  { table: 'sessions', key: 'session_start_ms', cutoff: 'raw', count: 'sessions' },
  { table: 'qoe_minutes', key: 'minute', cutoff: 'minuteRollups', count: 'minuteRows' },
  { table: 'stream_minutes', key: 'minute', cutoff: 'minuteRollups', count: 'minuteRows' },
  { table: 'qoe_hours', key: 'hour', cutoff: 'hourlyRollups', count: 'hourRows' },
  { table: 'stream_hours', key: 'hour', cutoff: 'hourlyRollups', count: 'hourRows' },
] as const satisfies ReadonlyArray<{
  table: string;
  key: string;
  cutoff: keyof RetentionCutoffs;
  count: keyof RetentionCounts;
}>;

async function underIngestLock<T>(pool: pg.Pool, operation: string, work: (c: pg.PoolClient) => Promise<T>) {
  return transaction(pool, operation, async (c) => {
    await c.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    await c.query('SELECT pg_advisory_xact_lock($1)', [INGEST_LOCK]);
    return work(c);
  });
}

/**
 * Creates the partitions due ahead of `now` (m3w_upkeep_partitions: 8 days, 2 months) and those of past days
 * (months) with rows in DEFAULT, moving the rows; returns how many partitions it created.
 */
export function upkeepPartitions(pool: pg.Pool, now: number): Promise<number> {
  return underIngestLock(pool, 'upkeepPartitions', async (c) => {
    const r = await c.query<{ n: number }>('SELECT m3w_upkeep_partitions($1) AS n', [now]);
    return r.rows[0]!.n;
  });
}

export interface PartitionRange {
  name: string;
  from: number;
  to: number;
}

/** The range partitions of `table` (DEFAULT left out), oldest first. */
export async function listPartitions(db: pg.Pool | pg.ClientBase, table: string): Promise<PartitionRange[]> {
  const r = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
    [table],
  );
  const out: PartitionRange[] = [];
  for (const { name, bound } of r.rows) {
    const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(bound);
    if (m) out.push({ name, from: Number(m[1]), to: Number(m[2]) });
  }
  return out.sort((a, b) => a.from - b.from);
}

/**
 * Detaches and drops every partition all of whose rows are past their cut-off; returns the rows that went, by
 * kind. Rollup partitions qualify by their range. Sessions are expired by `timestamp` (as on SQLite) but
 * partitioned by their start: a day qualifies when it ended before the cut-off and holds no row at or after it.
 */
export async function dropExpiredPartitions(pool: pg.Pool, cutoffs: RetentionCutoffs): Promise<RetentionCounts> {
  const counts: RetentionCounts = { sessions: 0, playSessions: 0, minuteRows: 0, hourRows: 0, moments: 0 };
  const due: Array<{ table: string; part: PartitionRange; cutoff: number; count: keyof RetentionCounts }> = [];
  for (const p of PARTITIONED)
    for (const part of await listPartitions(pool, p.table))
      if (part.to <= cutoffs[p.cutoff]) due.push({ table: p.table, part, cutoff: cutoffs[p.cutoff], count: p.count });
  if (due.length === 0) return counts;
  return underIngestLock(pool, 'dropExpiredPartitions', async (c) => {
    for (const { table, part, cutoff, count } of due) {
      const name = `"${part.name}"`;
      // Gone already (a retention run elsewhere, say `m3w retention` beside the server).
      if ((await c.query('SELECT to_regclass($1) AS t', [name])).rows[0].t === null) continue;
      if (table === 'sessions') {
        const live = await c.query(`SELECT 1 FROM ${name} WHERE timestamp >= $1 LIMIT 1`, [cutoff]);
        if (live.rows.length > 0) continue;
      }
      const n = await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${name}`);
      await c.query(`ALTER TABLE ${table} DETACH PARTITION ${name}`);
      await c.query(`DROP TABLE ${name}`);
      counts[count] += n.rows[0]!.n;
    }
    return counts;
  });
}
