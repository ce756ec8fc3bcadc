// Applies migrations/sqlite/NNNN_name.sql in order, each in its own transaction, recorded with a checksum.
// An applied migration whose file changed, or one the database has but the files do not, stops start-up.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { embeddedSqliteMigrations } from '../../runtime/embedded.ts';
import { StoreError } from '../types.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** migrations/sqlite of the package this module belongs to, from the sources (src/store/sqlite) or a bundle (dist). */
function findMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'migrations', 'sqlite');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new StoreError('cannot find the migrations/sqlite folder beside m3w');
    dir = parent;
  }
}

/** The migration files as name and SQL: built into the executable, else read from `dir` or migrations/sqlite. */
function migrationSources(dir: string | undefined): Array<{ name: string; sql: string }> {
  const embedded = dir === undefined ? embeddedSqliteMigrations() : null;
  if (embedded) return embedded;
  // Looked up on first use, not at import: the executable has no migrations folder to find.
  const from = dir ?? findMigrationsDir();
  const files = readdirSync(from)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return files.map((name) => ({ name, sql: readFileSync(path.join(from, name), 'utf8') }));
}

export function readMigrations(dir?: string): Migration[] {
  const seen = new Set<number>();
  return migrationSources(dir).map(({ name: file, sql }) => {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new StoreError(`migration file ${file}: name must look like 0001_name.sql`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new StoreError(`migration ${m[1]} appears twice`);
    seen.add(version);
    return { version, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export function migrate(db: Database.Database, migrations: Migration[] = readMigrations()): MigrationReport {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const done = new Map(
    (
      db.prepare('SELECT version, name, checksum FROM schema_migrations').all() as Array<{
        version: number;
        name: string;
        checksum: string;
      }>
    ).map((r) => [r.version, r]),
  );
  const known = new Set(migrations.map((m) => m.version));
  for (const row of done.values())
    if (!known.has(row.version))
      throw new StoreError(
        `the database has migration ${row.name}, which this version of m3w does not know: it was written by a newer m3w`,
      );
  const report: MigrationReport = { applied: [], alreadyApplied: 0 };
  const record = db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of migrations) {
    const previous = done.get(m.version);
    if (previous) {
      if (previous.checksum !== m.checksum)
        throw new StoreError(
          `migration ${m.name} was changed after it was applied (checksum ${m.checksum.slice(0, 12)} != recorded ${previous.checksum.slice(0, 12)}); restore the original file and add a new migration instead`,
        );
      report.alreadyApplied++;
      continue;
    }
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, m.checksum, Date.now());
    })();
    report.applied.push(m.name);
  }
  return report;
}
