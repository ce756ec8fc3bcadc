// One server per database: a lock file beside the database holds the owner's pid. A second m3w on the same
// data refuses to start instead of corrupting anything; a lock left by a crashed process is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { StoreError } from './types.ts';

export interface InstanceLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The pid holding the lock for this database, or null when none (or only a stale lock) exists. */
export function lockHolder(databasePath: string): number | null {
  try {
    const pid = Number(readFileSync(`${databasePath}.lock`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function acquireInstanceLock(databasePath: string): InstanceLock {
  const path = `${databasePath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600); // private like every file m3w writes
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // already gone: nothing to release
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(databasePath);
      if (holder !== null)
        throw new StoreError(
          `another m3w (pid ${holder}) is already using ${databasePath}; stop it first, or give this one another --data-dir`,
        );
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new StoreError(`could not take the lock ${path}`);
}
