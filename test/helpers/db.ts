// SQL against a test server's database, whichever adapter it runs on (SQLite file, or its Postgres schema under
// TEST_STORE=postgres), for the few tests that check what is stored (typed columns, hashes only) or make time pass
// (an expiry moved into the past). Write SQL with ? placeholders; for Postgres they become $1, $2, …
import Database from 'better-sqlite3';
import pg from 'pg';
import type { ResolvedConfig } from '../../src/config/index.ts';

type Row = Record<string, unknown>;

/** BIGINT and numeric as JS numbers, as the Postgres adapter reads them (and as SQLite answers). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

/** Runs one statement; returns its rows (none for a write without RETURNING). */
export async function sql(config: ResolvedConfig, text: string, params: unknown[] = []): Promise<Row[]> {
  if (config.postgresUrl === null) {
    const db = new Database(config.databasePath);
    try {
      const stmt = db.prepare(text);
      if (stmt.reader) return stmt.all(...params) as Row[];
      stmt.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({
    connectionString: config.postgresUrl,
    options: `-c search_path="${config.postgres.schema}"`,
    types,
  });
  await client.connect();
  try {
    return (await client.query(numbered(text), params)).rows as Row[];
  } finally {
    await client.end();
  }
}
