// Offline restore of a backup file: checked first (a real m3w SQLite database that passes an integrity
// check), then swapped in atomically so a failed restore leaves the old database untouched.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../types.ts';
import { makePrivate } from '../private-files.ts';

export interface RestoreReport {
  sessions: number;
  migrations: number;
}

/** Null when SQLite's integrity check passes on `file`, else what it (or opening the file) reported. */
export function integrityProblem(file: string): string | null {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const result = db.pragma('integrity_check', { simple: true });
      return result === 'ok' ? null : String(result);
    } finally {
      db.close();
    }
  } catch (err) {
    return (err as Error).message;
  }
}

export function checkSqliteBackup(file: string): RestoreReport {
  if (!existsSync(file)) throw new StoreError(`backup file ${file} does not exist`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StoreError(`${file} is not a SQLite database: ${(err as Error).message}`);
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new StoreError(`${file} fails the integrity check: ${String(integrity)}`);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    if (!tables.has('schema_migrations') || !tables.has('sessions'))
      throw new StoreError(
        `${file} is a SQLite database but not an m3w backup (no schema_migrations or sessions table)`,
      );
    return {
      sessions: db.prepare('SELECT count(*) FROM sessions').pluck().get() as number,
      migrations: db.prepare('SELECT count(*) FROM schema_migrations').pluck().get() as number,
    };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`${file} cannot be read as an m3w backup: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** Replaces the database at `databasePath` with `file`. The caller makes sure no server is using it. */
export function restoreSqliteBackup(file: string, databasePath: string): RestoreReport {
  const report = checkSqliteBackup(file);
  mkdirSync(path.dirname(databasePath), { recursive: true });
  const staging = `${databasePath}.restoring`;
  copyFileSync(file, staging);
  makePrivate(staging); // a copy keeps the backup's mode, which may be looser
  // The old database's WAL must not be replayed onto the restored file.
  for (const suffix of ['-wal', '-shm']) rmSync(databasePath + suffix, { force: true });
  renameSync(staging, databasePath);
  return report;
}
