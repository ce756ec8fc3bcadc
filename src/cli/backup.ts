// m3w backup FILE (online, while a server runs) and m3w restore FILE (refused while one runs).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/index.ts';
import {
  acquireInstanceLock,
  lockHolder,
  restoreSqliteBackup,
  openStore,
  StoreError,
  type RestoreReport,
} from '../store/index.ts';

export async function runBackup(config: ResolvedConfig, args: string[]): Promise<number> {
  if (args.length !== 1) {
    process.stderr.write('m3w: backup needs exactly one FILE to write\n');
    return 2;
  }
  const destination = path.resolve(args[0]!);
  if (config.postgresUrl !== null)
    throw new StoreError('not yet supported on Postgres: backup (use pg_dump for a Postgres database)');
  if (existsSync(destination)) throw new StoreError(`${destination} already exists; choose a new file name`);
  if (!existsSync(config.databasePath))
    throw new StoreError(`there is no database at ${config.databasePath} to back up`);
  const started = performance.now();
  const store = await openStore(config);
  try {
    await store.backup(destination);
    const sessions = await store.countSessions();
    process.stdout.write(
      `Backed up ${config.databasePath} to ${destination} (${sessions} sessions) in ${Math.round(performance.now() - started)} ms\n`,
    );
  } finally {
    await store.close();
  }
  return 0;
}

export async function runRestore(config: ResolvedConfig, args: string[]): Promise<number> {
  if (args.length !== 1) {
    process.stderr.write('m3w: restore needs exactly one backup FILE\n');
    return 2;
  }
  if (config.postgresUrl !== null)
    throw new StoreError('not yet supported on Postgres: restore (use pg_restore for a Postgres database)');
  const source = path.resolve(args[0]!);
  const holder = lockHolder(config.databasePath);
  if (holder !== null)
    throw new StoreError(
      `an m3w server (pid ${holder}) is running on ${config.databasePath}; stop it before restoring`,
    );
  mkdirSync(path.dirname(config.databasePath), { recursive: true });
  // Holding the lock keeps a server from starting on the database while it is being replaced.
  const lock = acquireInstanceLock(config.databasePath);
  let report: RestoreReport;
  try {
    report = restoreSqliteBackup(source, config.databasePath);
  } finally {
    lock.release();
  }
  process.stdout.write(`Restored ${source} to ${config.databasePath} (${report.sessions} sessions)\n`);
  return 0;
}
