// Opens a SQLite connection with the settings every m3w connection needs.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { databaseFiles, ensurePrivateFile, makePrivate, PRIVATE_DIR_MODE } from '../private-files.ts';

export type Durability = 'full' | 'normal';

/** How large the WAL grows before a checkpoint copies it into the database, and what it is truncated to after. */
const WAL_BYTES = 64 * 1024 * 1024;

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
  // SQLite's default page size. Session ids are random UUIDs, so once the (app_id, session_id) index outgrows
  // a group commit, every new session dirties its own index leaf, and each dirtied page is written whole to the
  // WAL and again at the checkpoint: with 16 KiB pages (m3w's choice until 2026-12) a raw insert of random ids
  // into 2 M stored rows ran at 12k rows/s against 17–19k with 4 KiB pages. Only takes effect on a new, empty
  // file; older databases keep their 16 KiB pages.
  if (!opts.readonly) db.pragma('page_size = 4096');
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
  db.pragma(`journal_size_limit = ${WAL_BYTES}`); // keep the WAL file from growing without bound
  // Checkpoint once the WAL holds 64 MB, not SQLite's 1,000 pages: a leaf dirtied by many commits in between is
  // copied into the database once, not once per checkpoint (random inserts into 2 M stored rows: 17–19k rows/s
  // with 1,000 pages of 4 KiB, 27–28.5k with 16,384; more WAL would buy a little more, 32–33k at 160 MB).
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.round(WAL_BYTES / pageSize)}`);
  return db;
}
