// The Store adapters a contract test runs against: SQLite always (a fresh file), Postgres whenever CI=true or
// TEST_DATABASE_URL is set (needs('postgres') fails the suite under M3W_REQUIRE_ALL=1 instead of skipping it).
// Each Postgres store lives in a schema of its own, created here and dropped by cleanup(), so test files
// running in parallel never see each other's rows.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { openStore, type OpenedStore } from '../../src/store/index.ts';
import { needs, TEST_DATABASE_URL } from './requirements.ts';
import { makeTempDir } from './server.ts';

export type AdapterName = 'sqlite' | 'postgres';

export interface OpenedTestStore {
  store: OpenedStore;
  /** Closes the store (if still open) and removes its file or schema. */
  cleanup(): Promise<void>;
  /** Opens the same database again (after store.close()). */
  reopen(): Promise<OpenedStore>;
  /** Opens the same database once more alongside this one (another instance on it); the caller closes it. */
  another(): Promise<OpenedStore>;
  /** Postgres: the store's schema, for a test that reaches into it with SQL of its own. */
  schema?: string;
}

/** A fresh, unique schema name for one test store. */
export const testSchemaName = () => `m3w_test_${randomBytes(6).toString('hex')}`;

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Opens an empty store of the adapter. */
export async function openTestStore(adapter: AdapterName): Promise<OpenedTestStore> {
  if (adapter === 'sqlite') {
    const dir = makeTempDir('m3w-contract-');
    const config = {
      databasePath: path.join(dir, 'm3w.db'),
      durability: 'normal' as const,
      postgresUrl: null,
      postgres: { schema: 'public', poolSize: 4 },
    };
    let store = await openStore(config);
    return {
      get store() {
        return store;
      },
      reopen: async () => (store = await openStore(config)),
      another: () => openStore(config),
      cleanup: async () => {
        await store.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = testSchemaName();
  const config = {
    databasePath: '/nonexistent/m3w.db',
    durability: 'full' as const,
    postgresUrl: TEST_DATABASE_URL,
    postgres: { schema, poolSize: 4 },
  };
  let store = await openStore(config);
  return {
    get store() {
      return store;
    },
    schema,
    reopen: async () => (store = await openStore(config)),
    another: () => openStore(config),
    cleanup: async () => {
      await store.close().catch(() => {});
      await dropSchema(schema);
    },
  };
}

/** The adapters to run: SQLite, and Postgres when required or configured. */
export function adapters(): AdapterName[] {
  return needs('postgres') ? ['sqlite', 'postgres'] : ['sqlite'];
}
