// Numbered, checksummed migration files of one adapter (migrations/sqlite or migrations/postgres): found beside
// the package (sources, dist bundle or the executable's virtual filesystem), read in order.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './types.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export type MigrationSet = 'sqlite' | 'postgres';

/** migrations/<set> of the package this module belongs to, looked for in this folder and every parent. */
function findMigrationsDir(set: MigrationSet): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'migrations', set);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new StoreError(`cannot find the migrations/${set} folder beside m3w`);
    dir = parent;
  }
}

/** The migration files of `set` (or of `dir`), in version order, each with its checksum. */
export function readMigrationFiles(set: MigrationSet, dir?: string): Migration[] {
  const from = dir ?? findMigrationsDir(set);
  const files = readdirSync(from)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const seen = new Set<number>();
  return files.map((file) => {
    const sql = readFileSync(path.join(from, file), 'utf8');
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new StoreError(`migration file ${file}: name must look like 0001_name.sql`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new StoreError(`migration ${m[1]} appears twice`);
    seen.add(version);
    return { version, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/** Stops start-up when the database has a migration these files do not, or one whose file changed. */
export function checkApplied(
  migrations: readonly Migration[],
  done: ReadonlyMap<number, { name: string; checksum: string }>,
): void {
  const known = new Set(migrations.map((m) => m.version));
  for (const [version, row] of done)
    if (!known.has(version))
      throw new StoreError(
        `the database has migration ${row.name}, which this version of m3w does not know: it was written by a newer m3w`,
      );
  for (const m of migrations) {
    const previous = done.get(m.version);
    if (previous && previous.checksum !== m.checksum)
      throw new StoreError(
        `migration ${m.name} was changed after it was applied (checksum ${m.checksum.slice(0, 12)} != recorded ${previous.checksum.slice(0, 12)}); restore the original file and add a new migration instead`,
      );
  }
}
