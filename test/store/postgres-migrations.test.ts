// Postgres schema migrations: numbered and checksummed like SQLite's, applied under pg_advisory_xact_lock so that
// instances starting together take turns, in the schema `postgres.schema` names (created when missing).
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import { openStore, type OpenedStore } from '../../src/store/index.ts';
import { readPostgresMigrations } from '../../src/store/postgres/migrate.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';

const config = (schema: string) => ({
  databasePath: '/nonexistent/m3w.db',
  durability: 'full' as const,
  postgresUrl: TEST_DATABASE_URL,
  postgres: { schema, poolSize: 2 },
});

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!needs('postgres'))('Postgres migrations', () => {
  test('four instances opening one new schema at once: each migration applied exactly once', async () => {
    const schema = testSchemaName();
    const stores: OpenedStore[] = [];
    try {
      const opened = await Promise.all([1, 2, 3, 4].map(() => openStore(config(schema))));
      stores.push(...opened);
      const files = readPostgresMigrations();
      expect(opened.reduce((n, s) => n + s.migrations.applied.length, 0)).toBe(files.length);
      expect(opened.filter((s) => s.migrations.applied.length > 0).length).toBe(1);
      const rows = await sql<{ version: number; checksum: string }>(
        `SELECT version, checksum FROM "${schema}".schema_migrations ORDER BY version`,
      );
      expect(rows).toEqual(files.map((f) => ({ version: f.version, checksum: f.checksum })));
      // Every instance works on the shared tables.
      await opened[0]!.ensureApp('shared', 'Shared', 1);
      expect(await opened[3]!.getApp('shared')).toEqual({ id: 'shared', name: 'Shared', createdAt: 1 });
    } finally {
      for (const s of stores) await s.close();
      await dropSchema(schema);
    }
  });

  test('schemas are separate databases for m3w: the same app id in two schemas does not collide', async () => {
    const [x, y] = [testSchemaName(), testSchemaName()];
    const a = await openStore(config(x));
    const b = await openStore(config(y));
    try {
      await a.ensureApp('app', 'In x', 1);
      expect(await b.getApp('app')).toBeNull();
      expect(await b.listApps()).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await dropSchema(x);
      await dropSchema(y);
    }
  });

  test('an applied migration whose file changed, or one m3w does not know, stops start-up with a clear error', async () => {
    const schema = testSchemaName();
    try {
      await (await openStore(config(schema))).close();
      await sql(`UPDATE "${schema}".schema_migrations SET checksum = 'abc' WHERE version = 1`);
      await expect(openStore(config(schema))).rejects.toThrow(/0001_init\.sql was changed after it was applied/);
      const files = readPostgresMigrations();
      await sql(`UPDATE "${schema}".schema_migrations SET checksum = $1 WHERE version = 1`, [files[0]!.checksum]);
      await sql(
        `INSERT INTO "${schema}".schema_migrations (version, name, checksum, applied_at) VALUES (9999, '9999_future.sql', 'x', 0)`,
      );
      await expect(openStore(config(schema))).rejects.toThrow(
        /9999_future\.sql, which this version of m3w does not know/,
      );
    } finally {
      await dropSchema(schema);
    }
  });

  test('an unreachable database is a StoreError naming it, password hidden', async () => {
    const url = 'postgres://m3w:secret@127.0.0.1:1/none';
    const err = await openStore({ ...config('public'), postgresUrl: url }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'StoreError' });
    expect((err as Error).message).toMatch(/^cannot open Postgres postgres:\/\/m3w:\*\*\*@127\.0\.0\.1:1\/none/);
    expect((err as Error).message).not.toContain('secret');
  });
});
