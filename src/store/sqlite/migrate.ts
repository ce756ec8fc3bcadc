// Applies migrations/sqlite/NNNN_name.sql in order, each in its own transaction, recorded with a checksum.
// An applied migration whose file changed, or one the database has but the files do not, stops start-up.
import type Database from 'better-sqlite3';
import { readMigrationFiles, type Migration, type MigrationReport } from '../migration-files.ts';
import { StoreError } from '../types.ts';

export type { Migration, MigrationReport };

export function readMigrations(dir?: string): Migration[] {
  return readMigrationFiles('sqlite', dir);
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
