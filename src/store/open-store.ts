// The one place a Store is constructed (server and every CLI command): DATABASE_URL / databaseUrl picks the
// adapter — a file path or sqlite: URL → SQLite; postgres:// or postgresql:// → Postgres.
import type { MigrationReport } from './migration-files.ts';
import type { Store } from './types.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Durability } from './sqlite/open-database.ts';

/** What openStore reads of the configuration (ResolvedConfig has it all). */
export interface StoreConfig {
  /** SQLite file (used when postgresUrl is null). */
  databasePath: string;
  durability: Durability;
  /** Set: the Postgres adapter, on this database. */
  postgresUrl: string | null;
  postgres: { schema: string; poolSize: number };
}

export type OpenedStore = Store & {
  readonly migrations: MigrationReport;
};

/**
 * Opens (creating and migrating as needed) the store the configuration names. `owner`: the caller is the server
 * holding the instance lock (on SQLite it then repairs what a crash left; CLI commands leave that to it).
 */
export async function openStore(config: StoreConfig, opts: { owner?: boolean } = {}): Promise<OpenedStore> {
  if (config.postgresUrl !== null) {
    // Loaded only when asked for, so a SQLite deployment never loads the pg driver.
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    return PostgresStore.open({
      url: config.postgresUrl,
      schema: config.postgres.schema,
      poolSize: config.postgres.poolSize,
    });
  }
  return SqliteStore.open({ file: config.databasePath, durability: config.durability, owner: opts.owner });
}

/** Postgres: how many migrations the schema still lacks (connects, changes nothing). */
export async function pendingMigrations(config: StoreConfig): Promise<number> {
  if (config.postgresUrl === null) throw new Error('pendingMigrations is for Postgres');
  const { countPendingPostgres } = await import('./postgres/migrate.ts');
  return countPendingPostgres({ url: config.postgresUrl, schema: config.postgres.schema, poolSize: 1 });
}

/** Where the store lives, for messages: the SQLite file, or the Postgres database (password hidden) and schema. */
export function storeLocation(config: StoreConfig): string {
  if (config.postgresUrl === null) return config.databasePath;
  let shown = 'postgres://…';
  try {
    const u = new URL(config.postgresUrl);
    if (u.password) u.password = '***';
    shown = u.toString();
  } catch {}
  return `${shown} (schema ${config.postgres.schema})`;
}
