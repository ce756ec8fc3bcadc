// The Postgres connection pool of the adapter: every connection works in m3w's schema (`postgres.schema`),
// BIGINT and numeric come back as JS numbers (epoch ms and counts fit in 2^53), and every failure reaches the
// HTTP layer as a StoreError (503), never as a raw driver error. `pg` is the pure-JS client; pg-native is never loaded.
import pg from 'pg';
import { StoreError, StoreInputError } from '../types.ts';

const INT8 = 20;
const NUMERIC = 1700;
const INT4_ARRAY = 1007;

/**
 * integer[] text ("{1,2,3}") to numbers. The startup histograms are the only such column and a 30-day QoE read
 * returns 720 of them: pg's general array parser took about half of that read's time (measured in the bench).
 * Nested arrays never occur in m3w's schema; they go to the general parser all the same.
 */
function parseIntArray(general: (v: string) => unknown): (v: string) => unknown {
  return (v) => {
    if (v === '{}') return [];
    if (v.indexOf('{', 1) !== -1) return general(v);
    return v
      .slice(1, -1)
      .split(',')
      .map((x) => (x === 'NULL' ? null : Number(x)));
  };
}

/** Type parsers of this pool only (the global pg.types are left alone). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    const general = pg.types.getTypeParser(oid, format as 'text');
    return oid === INT4_ARRAY && format !== 'binary' ? parseIntArray(general as (v: string) => unknown) : general;
  },
};

export interface PostgresOptions {
  url: string;
  /** Schema of m3w's tables, created if missing (by the migration run, under its lock). */
  schema: string;
  poolSize: number;
}

export type Queryable = pg.Pool | pg.PoolClient;

/** A schema name as a quoted identifier (the config schema allows only [a-z_][a-z0-9_]*, this is belt and braces). */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new StoreError(`invalid Postgres schema name "${name}"`);
  return `"${name}"`;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export async function openPool(opts: PostgresOptions): Promise<pg.Pool> {
  const schema = quoteIdent(opts.schema);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    types,
    // search_path set at connect time: every statement of every connection resolves tables in the schema.
    options: `-c search_path=${schema}`,
    application_name: 'm3w',
  });
  // An idle connection that breaks (server restart) is dropped from the pool; the next query opens a new one.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StoreError(`cannot open Postgres ${redactUrl(opts.url)}: ${(err as Error).message}`, { cause: err });
  }
  return pool;
}

/** Postgres's codes for text it cannot store (NUL in a UTF-8 text value; a character the encoding lacks). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** A driver error as a StoreError naming the operation; a StoreInputError when the caller's text was the cause. */
function failed(operation: string, err: unknown): StoreError {
  const message = `${operation} failed: ${(err as Error).message}`;
  return UNSTORABLE_TEXT.has((err as { code?: string }).code ?? '')
    ? new StoreInputError(message, { cause: err })
    : new StoreError(message, { cause: err });
}

/** Runs one statement; failures become StoreErrors naming the operation. */
export async function q<R extends pg.QueryResultRow = Record<string, unknown>>(
  db: Queryable,
  operation: string,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (err) {
    throw failed(operation, err);
  }
}

/** Runs one statement whose rows come back as arrays (column order), for row layouts shared with SQLite. */
export async function qRows(db: Queryable, operation: string, text: string, values: unknown[]): Promise<unknown[][]> {
  try {
    return (await db.query({ text, values, rowMode: 'array' })).rows as unknown[][];
  } catch (err) {
    throw failed(operation, err);
  }
}

/** Runs `fn` in one transaction on one connection: committed when it returns, rolled back when it throws. */
export async function transaction<T>(
  pool: pg.Pool,
  operation: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw failed(operation, err);
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    if (err instanceof StoreError) throw err;
    throw failed(operation, err);
  } finally {
    client.release(broken);
  }
}

/** Postgres unique_violation. */
export const isUniqueViolation = (err: unknown) =>
  (err as { code?: string }).code === '23505' || (err as { cause?: { code?: string } }).cause?.code === '23505';
