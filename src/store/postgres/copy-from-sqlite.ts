// m3w migrate-store: copies every table of a SQLite m3w database into an empty Postgres schema, resumably. The
// SQLite file is opened read-only. Each table is read in primary-key order in batches; a batch is inserted with one
// INSERT … SELECT FROM unnest(…) and, in the same transaction, the table's key cursor in m3w_store_move (a table
// of the target) moves past it: a run that stops anywhere resumes exactly where its last commit left off. When
// every table is copied, identity sequences are moved past the copied ids, the row counts of both sides are
// compared, and (when they agree) the progress table is dropped.
import { realpathSync } from 'node:fs';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { lockHolder } from '../instance-lock.ts';
import { checkApplied, readMigrationFiles } from '../migration-files.ts';
import { StoreError } from '../types.ts';
import { openPool, quoteIdent, redactUrl, transaction } from './database.ts';
import { migratePostgres } from './migrate.ts';

/** The target's bookkeeping table: one row per source table, with the key the copy has reached. */
const PROGRESS_TABLE = 'm3w_store_move';
/** First key of the advisory lock a copy holds on its target schema ("m3w:move"; the second is the schema's hash). */
const MOVE_LOCK = 0x6d33_7702;

export interface CopyToPostgresOptions {
  /** The SQLite m3w database (opened read-only). */
  sqliteFile: string;
  url: string;
  schema: string;
  /** Rows per batch (one transaction each); default 1,000. */
  batchRows?: number;
  /** Called after every committed batch and once per table at its end. */
  onProgress?: (progress: CopyProgress) => void;
}

export interface CopyProgress {
  table: string;
  /** Rows of this table copied so far (this run and earlier ones). */
  copied: number;
  /** Rows of this table in the source. */
  total: number;
  /** Rows of every table copied so far, and in the source. */
  allCopied: number;
  allTotal: number;
  tableDone: boolean;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

export interface CopyReport {
  /** True when this run continued a copy an earlier run had begun. */
  resumed: boolean;
  /** Rows inserted by this run. */
  copiedThisRun: number;
  /** Per table, in copy order: rows in SQLite and in Postgres after the copy. */
  counts: TableCount[];
  /** True when every table has as many rows in Postgres as in SQLite. */
  countsMatch: boolean;
  ms: number;
}

interface SourceTable {
  name: string;
  columns: string[];
  /** Primary-key columns in key order. */
  key: string[];
  rows: number;
}

interface Progress {
  lastKey: unknown[] | null;
  copied: number;
  done: boolean;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Opens the SQLite database read-only, checking it is an m3w database this version can read as it is. */
function openSource(file: string): Database.Database {
  const holder = lockHolder(file);
  if (holder !== null)
    throw new StoreError(
      `an m3w server (pid ${holder}) is running on ${file}; stop it before moving its database (what it writes during the copy would be left behind)`,
    );
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StoreError(`cannot open the SQLite database ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('busy_timeout = 5000');
    const hasMigrations = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
      .get();
    if (!hasMigrations) throw new StoreError(`${file} is not an m3w database (it has no schema_migrations table)`);
    const done = db.prepare('SELECT version, name, checksum FROM schema_migrations').all() as Array<{
      version: number;
      name: string;
      checksum: string;
    }>;
    const files = readMigrationFiles('sqlite');
    checkApplied(files, new Map(done.map((r) => [r.version, r])));
    const applied = new Set(done.map((r) => r.version));
    const missing = files.filter((f) => !applied.has(f.version));
    if (missing.length > 0)
      throw new StoreError(
        `${file} lacks ${missing.length} migration(s) of this m3w (${missing[0]!.name}…); run "m3w migrate" on it first`,
      );
    // Marks of QoE rollup deltas a crash lost (SQLite only: the session writer keeps deltas in memory for a
    // moment); m3w recomputes those rollup rows when it next starts on the file.
    if (db.prepare('SELECT 1 FROM qoe_dirty LIMIT 1').get())
      throw new StoreError(
        `${file} was not shut down cleanly: some QoE rollup rows need recomputing; start m3w on it once and stop it, then move it`,
      );
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function sourceTables(db: Database.Database): SourceTable[] {
  const names = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('schema_migrations', 'qoe_dirty') ORDER BY name",
      )
      .all() as Array<{ name: string }>
  ).map((r) => r.name);
  return names.map((name) => {
    const info = db.prepare(`PRAGMA table_info(${q(name)})`).all() as Array<{ name: string; pk: number }>;
    const key = info
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    if (key.length === 0) throw new StoreError(`SQLite table ${name} has no primary key; migrate-store cannot page it`);
    const rows = (db.prepare(`SELECT count(*) AS n FROM ${q(name)}`).get() as { n: number }).n;
    return { name, columns: info.map((c) => c.name), key, rows };
  });
}

/**
 * Postgres types of the target's columns (format_type: 'bigint', 'integer[]', …), per table. Partitions are left
 * out: their rows are their partitioned table's (0006), which is written and counted through.
 */
async function targetColumns(pool: pg.Pool, schema: string): Promise<Map<string, Map<string, string>>> {
  const r = await pool.query<{ t: string; c: string; type: string }>(
    `SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema],
  );
  const tables = new Map<string, Map<string, string>>();
  for (const row of r.rows) {
    if (!tables.has(row.t)) tables.set(row.t, new Map());
    tables.get(row.t)!.set(row.c, row.type);
  }
  return tables;
}

/** Tables in an order where every table comes after those its foreign keys reference (Postgres checks them). */
async function copyOrder(pool: pg.Pool, schema: string, tables: readonly SourceTable[]): Promise<SourceTable[]> {
  const r = await pool.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND n.nspname = $1 AND c.oid <> p.oid`,
    [schema],
  );
  const parents = new Map<string, Set<string>>();
  for (const { child, parent } of r.rows) {
    if (!parents.has(child)) parents.set(child, new Set());
    parents.get(child)!.add(parent);
  }
  const byName = new Map(tables.map((t) => [t.name, t]));
  const ordered: SourceTable[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (t: SourceTable) => {
    if (placed.has(t.name)) return;
    if (visiting.has(t.name)) throw new StoreError(`foreign keys of the Postgres schema form a cycle at ${t.name}`);
    visiting.add(t.name);
    for (const p of [...(parents.get(t.name) ?? [])].sort()) {
      const parent = byName.get(p);
      if (parent) place(parent);
    }
    visiting.delete(t.name);
    placed.add(t.name);
    ordered.push(t);
  };
  for (const t of tables) place(t);
  return ordered;
}

/** Little-endian int32 (bucket, count) pairs, SQLite's startup histogram, as a Postgres integer[] literal. */
function pairsLiteral(blob: Uint8Array): string {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const values: number[] = [];
  for (let o = 0; o + 4 <= blob.byteLength; o += 4) values.push(view.getInt32(o, true));
  return `{${values.join(',')}}`;
}

/** One SQLite value as the text Postgres parses into a column of `type`, exactly (integers come as BigInt). */
function asText(value: unknown, type: string, where: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    if (type === 'integer[]') return pairsLiteral(value);
    if (type === 'bytea') return `\\x${Buffer.from(value).toString('hex')}`;
    if (type === 'text') return Buffer.from(value).toString('utf8');
  }
  throw new StoreError(`${where}: cannot copy a ${typeof value} into a Postgres ${type} column`);
}

/** A cursor key stored as JSON: BigInts as strings marked with a type so they come back exact. */
const encodeKey = (key: unknown[]) => JSON.stringify(key.map((v) => (typeof v === 'bigint' ? { i: v.toString() } : v)));
const decodeKey = (text: string): unknown[] =>
  (JSON.parse(text) as unknown[]).map((v) =>
    v !== null && typeof v === 'object' && 'i' in v ? BigInt((v as { i: string }).i) : v,
  );

/** The identity of the source recorded in the target: a resumed run must read the same database. */
function sourceIdentity(file: string, db: Database.Database): string {
  const last = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number };
  return `${realpathSync(file)} (migration ${last.v})`;
}

/**
 * Rows in the target's m3w tables, largest first (the refusal message shows a few, and the biggest say most about
 * what the schema holds; catalogue order is not fixed); empty when there are none.
 */
async function targetContents(pool: pg.Pool, tables: Iterable<string>): Promise<string[]> {
  const found: { table: string; n: number }[] = [];
  for (const t of tables) {
    if (t === 'schema_migrations' || t === PROGRESS_TABLE) continue;
    const r = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${q(t)} LIMIT 1000001) s`);
    const n = Number(r.rows[0]!.n);
    if (n > 0) found.push({ table: t, n });
  }
  found.sort((a, b) => b.n - a.n || a.table.localeCompare(b.table));
  return found.map(
    ({ table, n }) =>
      `${table}: ${n > 1_000_000 ? 'over 1,000,000 rows' : n === 1 ? '1 row' : `${n.toLocaleString('en-US')} rows`}`,
  );
}

/** Copies the SQLite m3w database into the (empty, or partly copied from the same source) Postgres schema. */
export async function copySqliteToPostgres(opts: CopyToPostgresOptions): Promise<CopyReport> {
  const started = performance.now();
  const batchRows = opts.batchRows ?? 1000;
  const schema = opts.schema;
  quoteIdent(schema);
  const db = openSource(opts.sqliteFile);
  let pool: pg.Pool | null = null;
  let lockConnection: pg.PoolClient | null = null;
  try {
    // One read transaction for the whole run: every table is read from the same snapshot.
    db.exec('BEGIN');
    const tables = sourceTables(db);
    const identity = sourceIdentity(opts.sqliteFile, db);
    pool = await openPool({ url: opts.url, schema, poolSize: 3 });
    const where = `${redactUrl(opts.url)} (schema ${schema})`;
    // Held by a connection of its own for the whole run: two copies into one schema would collide batch by batch.
    lockConnection = await pool.connect();
    const locked = await lockConnection.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
      MOVE_LOCK,
      schema,
    ]);
    if (!locked.rows[0]!.ok) {
      lockConnection.release();
      lockConnection = null;
      throw new StoreError(`another migrate-store is copying into ${where}; let it finish (or stop it) first`);
    }

    let existing = await targetColumns(pool, schema);
    let resumed = false;
    if (existing.has(PROGRESS_TABLE)) {
      const r = await pool.query<{ source: string }>(`SELECT DISTINCT source FROM ${PROGRESS_TABLE}`);
      const sources = r.rows.map((x) => x.source);
      if (sources.length !== 1 || sources[0] !== identity)
        throw new StoreError(
          `${where} holds a copy begun from ${sources.join(', ') || 'an unknown source'}, not ${identity}; drop that schema or choose another with --schema`,
        );
      resumed = true;
    } else if (existing.size > 0) {
      const contents = await targetContents(pool, existing.keys());
      if (contents.length > 0)
        throw new StoreError(
          `${where} is not empty (${contents.slice(0, 4).join(', ')}${contents.length > 4 ? ', …' : ''}); migrate-store copies only into an empty schema: choose another with --schema, or drop this one (DROP SCHEMA ${schema} CASCADE)`,
        );
      const foreign = [...existing.keys()].filter(
        (t) => !tables.some((s) => s.name === t) && t !== 'schema_migrations',
      );
      if (!existing.has('schema_migrations') && foreign.length > 0)
        throw new StoreError(
          `${where} holds tables that are not m3w's (${foreign.slice(0, 4).join(', ')}); choose another schema with --schema`,
        );
    }

    await migratePostgres(pool, schema);
    existing = await targetColumns(pool, schema);
    for (const t of tables) {
      const target = existing.get(t.name);
      if (!target)
        throw new StoreError(`the Postgres schema has no table ${t.name}; this m3w cannot move that table yet`);
      const missing = t.columns.filter((c) => !target.has(c));
      if (missing.length > 0)
        throw new StoreError(`the Postgres table ${t.name} has no column ${missing.join(', ')}; cannot copy it`);
    }
    const ordered = await copyOrder(pool, schema, tables);

    // The progress table appears with its rows, in one transaction: it always names its source. ON CONFLICT: a
    // resumed run lists only the tables an earlier one did not.
    await transaction(pool, 'migrate-store', async (c) => {
      await c.query(`CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
        table_name TEXT PRIMARY KEY, source TEXT NOT NULL, last_key TEXT, copied BIGINT NOT NULL DEFAULT 0,
        done BOOLEAN NOT NULL DEFAULT false)`);
      await c.query(
        `INSERT INTO ${PROGRESS_TABLE} (table_name, source) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`,
        [ordered.map((t) => t.name), identity],
      );
    });
    const progress = new Map<string, Progress>();
    for (const r of (
      await pool.query<{ table_name: string; last_key: string | null; copied: number; done: boolean }>(
        `SELECT table_name, last_key, copied, done FROM ${PROGRESS_TABLE}`,
      )
    ).rows)
      progress.set(r.table_name, {
        lastKey: r.last_key === null ? null : decodeKey(r.last_key),
        copied: r.copied,
        done: r.done,
      });

    const allTotal = ordered.reduce((s, t) => s + t.rows, 0);
    let allCopied = ordered.reduce((s, t) => s + (progress.get(t.name)?.copied ?? 0), 0);
    let copiedThisRun = 0;
    for (const table of ordered) {
      const p = progress.get(table.name)!;
      if (!p.done) {
        await copyTable(db, pool, table, existing.get(table.name)!, p, batchRows, (added) => {
          allCopied += added;
          copiedThisRun += added;
          opts.onProgress?.({
            table: table.name,
            copied: p.copied,
            total: table.rows,
            allCopied,
            allTotal,
            tableDone: false,
          });
        });
      }
      opts.onProgress?.({
        table: table.name,
        copied: p.copied,
        total: table.rows,
        allCopied,
        allTotal,
        tableDone: true,
      });
    }

    await advanceSequences(pool, schema, ordered);
    const counts: TableCount[] = [];
    for (const t of ordered) {
      const r = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(t.name)}`);
      counts.push({ table: t.name, source: t.rows, target: r.rows[0]!.n });
    }
    const countsMatch = counts.every((c) => c.source === c.target);
    // Kept when the counts differ, so that the schema is still recognised as this source's (and refused as
    // anything else's) while someone looks into it.
    if (countsMatch) await pool.query(`DROP TABLE ${PROGRESS_TABLE}`);
    return { resumed, copiedThisRun, counts, countsMatch, ms: performance.now() - started };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`migrate-store failed: ${(err as Error).message}`, { cause: err });
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
    // Ending the connection ends its session, and with it the advisory lock.
    lockConnection?.release(true);
    await pool?.end().catch(() => {});
  }
}

/** Copies one table from its cursor on; every batch commits its rows and the moved cursor together. */
async function copyTable(
  db: Database.Database,
  pool: pg.Pool,
  table: SourceTable,
  targetTypes: ReadonlyMap<string, string>,
  p: Progress,
  batchRows: number,
  onBatch: (rows: number) => void,
): Promise<void> {
  const cols = table.columns.map(q).join(', ');
  const keyCols = table.key.map(q).join(', ');
  const keyParams = table.key.map(() => '?').join(', ');
  const order = `ORDER BY ${keyCols} LIMIT ${batchRows}`;
  const first = db
    .prepare(`SELECT ${cols} FROM ${q(table.name)} ${order}`)
    .raw(true)
    .safeIntegers(true);
  const next = db
    .prepare(`SELECT ${cols} FROM ${q(table.name)} WHERE (${keyCols}) > (${keyParams}) ${order}`)
    .raw(true)
    .safeIntegers(true);
  const keyIndex = table.key.map((k) => table.columns.indexOf(k));
  const types = table.columns.map((c) => targetTypes.get(c)!);
  const insert = `INSERT INTO ${q(table.name)} (${cols}) SELECT ${table.columns
    .map((_c, i) => `u.c${i}::${types[i]}`)
    .join(', ')} FROM unnest(${table.columns.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${table.columns
    .map((_, i) => `c${i}`)
    .join(', ')})`;
  const read = (after: unknown[] | null) => (after === null ? first.all() : next.all(...after)) as unknown[][];

  let batch = read(p.lastKey);
  while (batch.length > 0) {
    const rows = batch;
    const lastKey = keyIndex.map((i) => rows[rows.length - 1]![i]);
    const columns = table.columns.map((c, ci) => rows.map((r) => asText(r[ci], types[ci]!, `${table.name}.${c}`)));
    const done = rows.length < batchRows;
    const write = writeBatch(pool, table.name, insert, columns, encodeKey(lastKey), rows.length, done);
    // The next batch is read from SQLite while Postgres works on this one.
    const following = done ? [] : read(lastKey);
    await write;
    p.lastKey = lastKey;
    p.copied += rows.length;
    p.done = done;
    onBatch(rows.length);
    batch = following;
  }
  if (!p.done) {
    await pool.query(`UPDATE ${PROGRESS_TABLE} SET done = true WHERE table_name = $1`, [table.name]);
    p.done = true;
  }
}

async function writeBatch(
  pool: pg.Pool,
  table: string,
  insert: string,
  columns: Array<Array<string | null>>,
  lastKey: string,
  rows: number,
  done: boolean,
): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    // A batch lost to a crash is lost with its cursor, and the next run copies it again: no need to wait for
    // each batch's fsync. The final statements of the run commit normally, which flushes everything before.
    await client.query('SET LOCAL synchronous_commit = off');
    await client.query(insert, columns);
    await client.query(
      `UPDATE ${PROGRESS_TABLE} SET last_key = $1, copied = copied + $2, done = $3 WHERE table_name = $4`,
      [lastKey, rows, done, table],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw new StoreError(`copying ${table} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    client.release(broken);
  }
}

/** Identity columns continue after the largest copied id, so the next row m3w inserts gets a new one. */
async function advanceSequences(pool: pg.Pool, schema: string, tables: readonly SourceTable[]): Promise<void> {
  const r = await pool.query<{ t: string; c: string }>(
    `SELECT c.relname AS t, a.attname AS c
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND a.attidentity IN ('a', 'd') AND c.relname = ANY($2::text[])`,
    [schema, tables.map((t) => t.name)],
  );
  for (const { t, c } of r.rows)
    await pool.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT max(${q(c)}) AS m FROM ${q(t)}) s WHERE m IS NOT NULL`,
      [`${quoteIdent(schema)}.${q(t)}`, c],
    );
}
