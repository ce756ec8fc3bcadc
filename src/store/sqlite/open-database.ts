// Opens a SQLite connection with the settings every m3w connection needs.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { databaseFiles, ensurePrivateFile, makePrivate, PRIVATE_DIR_MODE } from '../private-files.ts';

export type Durability = 'full' | 'normal';

export interface OpenOptions {
  durability: Durability;
  readonly?: boolean;
}

export function openDatabase(file: string, opts: OpenOptions): Database.Database {
  if (!opts.readonly) {
    mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // SQLite takes an empty file for a new database, and gives its -wal and -shm the same mode.
    ensurePrivateFile(file);
  }
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  // Larger pages cut the per-row cost of wide session rows; only takes effect on a new, empty file.
  if (!opts.readonly) db.pragma('page_size = 16384');
  // Lets retention hand freed pages back to the OS in small steps (PRAGMA incremental_vacuum); like
  // page_size it only takes effect on a new, empty file.
  if (!opts.readonly) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  if (!opts.readonly) makePrivate(...databaseFiles(file).slice(1, 3));
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // FULL: a commit survives power loss, not only a crash. NORMAL may lose the last commits on power loss.
  db.pragma(`synchronous = ${opts.durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('cache_size = -16000'); // 16 MB page cache per connection
  db.pragma('journal_size_limit = 67108864'); // keep the WAL file from growing without bound
  return db;
}
