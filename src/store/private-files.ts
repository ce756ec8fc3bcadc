// Files m3w writes hold its users' data and secrets, so only m3w's own user may read them: directories 0700,
// files 0600, whatever the umask. SQLite creates -wal and -shm with the database file's mode, so creating the
// database 0600 covers them; they are tightened too in case an older m3w left them readable.
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700, and tightens it if it already existed. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` empty and 0600 when missing; tightens it when present. */
export function ensurePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}

/** Tightens each file that exists to 0600. */
export function makePrivate(...files: string[]): void {
  for (const file of files)
    try {
      chmodSync(file, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
}

/** The database file and the files SQLite and m3w keep beside it. */
export function databaseFiles(databasePath: string): string[] {
  return [databasePath, `${databasePath}-wal`, `${databasePath}-shm`, `${databasePath}.lock`];
}

/**
 * Paths under `root` (itself included) that group or others may read, write or enter, with their modes;
 * at most `max` of them, so a huge directory cannot stall the caller.
 */
export function looseModes(root: string, max = 20): Array<{ path: string; mode: string }> {
  const found: Array<{ path: string; mode: string }> = [];
  let visited = 0;
  const walk = (p: string) => {
    if (found.length >= max || visited++ > 100_000) return;
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(p);
    } catch {
      return; // gone meanwhile
    }
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) found.push({ path: p, mode: (stat.mode & 0o777).toString(8).padStart(4, '0') });
    if (stat.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  if (existsSync(root)) walk(root);
  return found;
}
