// Applies migrations/postgres/NNNN_name.sql in order, recorded with a checksum like SQLite's. The whole run holds
// pg_advisory_xact_lock, so instances starting together take turns: the second finds everything applied.
import type pg from 'pg';
import { checkApplied, readMigrationFiles, type Migration, type MigrationReport } from '../migration-files.ts';
import { openPool, quoteIdent, transaction, type PostgresOptions } from './database.ts';

/** Key of the advisory lock migrations hold (any constant; "m3w:migrate"). */
const MIGRATION_LOCK = 0x6d33_7701;

export function readPostgresMigrations(dir?: string): Migration[] {
  return readMigrationFiles('postgres', dir);
}

/** Creates `schema` if missing and applies pending migrations in it (the pool's search_path names it). */
export async function migratePostgres(
  pool: pg.Pool,
  schema: string,
  migrations: Migration[] = readPostgresMigrations(),
): Promise<MigrationReport> {
  return transaction(pool, 'migrate', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Under the lock: two instances creating the same new schema at once would otherwise collide.
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const rows = (await c.query('SELECT version, name, checksum FROM schema_migrations')).rows as Array<{
      version: number;
      name: string;
      checksum: string;
    }>;
    const done = new Map(rows.map((r) => [r.version, r]));
    checkApplied(migrations, done);
    const report: MigrationReport = { applied: [], alreadyApplied: 0 };
    for (const m of migrations) {
      if (done.has(m.version)) {
        report.alreadyApplied++;
        continue;
      }
      // Every file applies in this one transaction: a failing file leaves nothing applied.
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)', [
        m.version,
        m.name,
        m.checksum,
        Date.now(),
      ]);
      report.applied.push(m.name);
    }
    return report;
  });
}

/** Migrations the schema still lacks; connects and reads only. */
export async function countPendingPostgres(opts: PostgresOptions): Promise<number> {
  const pool = await openPool(opts);
  try {
    const table = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      `${quoteIdent(opts.schema)}.schema_migrations`,
    ]);
    const files = readPostgresMigrations();
    if (table.rows[0]!.t === null) return files.length;
    const done = await pool.query<{ version: number; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${quoteIdent(opts.schema)}.schema_migrations`,
    );
    checkApplied(files, new Map(done.rows.map((r) => [r.version, r])));
    const applied = new Set(done.rows.map((r) => r.version));
    return files.filter((f) => !applied.has(f.version)).length;
  } finally {
    await pool.end();
  }
}
