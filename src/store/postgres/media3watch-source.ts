// m3w import media3watch, the reading half: the original Kotlin Media3Watch backend's `sessions` table (Flyway
// version 2), read in id order through a server-side cursor inside one read-only REPEATABLE READ transaction (one
// snapshot, however long the import takes), each row turned back into the SessionSummary the SDK sent. The table,
// as that backend's V2 migration creates it:
//
//   id BIGSERIAL PRIMARY KEY, session_id VARCHAR(128) NOT NULL UNIQUE, timestamp BIGINT NOT NULL,
//   session_start_date_iso VARCHAR(64) NOT NULL, session_duration_ms BIGINT NOT NULL, startup_time_ms BIGINT,
//   rebuffer_time_ms BIGINT, rebuffer_count INTEGER, play_time_ms BIGINT, rebuffer_ratio REAL,
//   total_dropped_frames BIGINT, total_seek_count INTEGER, total_seek_time_ms BIGINT,
//   mean_video_format_bitrate INTEGER, error_count INTEGER, created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
//
// Later versions of that backend added device_model, os_version, sdk_version and connection_type; they are read
// when present (the first two are SessionSummary fields, the others are kept in the payload as unknown fields).
import pg from 'pg';
import { StoreError } from '../types.ts';
import { quoteIdent, redactUrl } from './database.ts';

/** Kotlin column → SessionSummary field; the four first are required (NOT NULL in V2). */
const COLUMNS: ReadonlyArray<readonly [column: string, field: string]> = [
  ['session_id', 'sessionId'],
  ['timestamp', 'timestamp'],
  ['session_start_date_iso', 'sessionStartDateIso'],
  ['session_duration_ms', 'sessionDurationMs'],
  ['startup_time_ms', 'startupTimeMs'],
  ['rebuffer_time_ms', 'rebufferTimeMs'],
  ['play_time_ms', 'playTimeMs'],
  ['total_dropped_frames', 'totalDroppedFrames'],
  ['total_seek_time_ms', 'totalSeekTimeMs'],
  ['rebuffer_count', 'rebufferCount'],
  ['total_seek_count', 'totalSeekCount'],
  ['error_count', 'errorCount'],
  ['rebuffer_ratio', 'rebufferRatio'],
  ['mean_video_format_bitrate', 'meanVideoFormatBitrate'],
  ['device_model', 'deviceModel'],
  ['os_version', 'osVersion'],
  ['sdk_version', 'sdkVersion'],
  ['connection_type', 'connectionType'],
];
const REQUIRED = ['id', 'session_id', 'timestamp', 'session_start_date_iso', 'session_duration_ms'];

export interface Media3WatchSourceOptions {
  url: string;
  /** Schema of the Kotlin backend's tables (default public). */
  schema: string;
  /** Rows per FETCH; default 1,000. */
  batchRows?: number;
}

export interface Media3WatchRow {
  /** The Kotlin table's id (BIGSERIAL). */
  id: number;
  /** The SessionSummary the row holds, with the SDK's field names; null columns are null fields. */
  summary: Record<string, unknown>;
}

export interface Media3WatchSource {
  /** Rows in the table (in the snapshot the cursor reads). */
  readonly total: number;
  /** Kotlin columns read, and those of the table m3w does not read. */
  readonly columns: readonly string[];
  readonly ignoredColumns: readonly string[];
  /** Batches in id order; ends when the table is read. */
  batches(): AsyncGenerator<Media3WatchRow[]>;
  close(): Promise<void>;
}

/** Numbers come back as JS numbers (int8 and float4 as text otherwise). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 700 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Connects, checks the table looks like the Media3Watch backend's, opens the cursor. */
export async function openMedia3WatchSource(opts: Media3WatchSourceOptions): Promise<Media3WatchSource> {
  const schema = quoteIdent(opts.schema);
  const batchRows = opts.batchRows ?? 1000;
  const client = new pg.Client({ connectionString: opts.url, types, application_name: 'm3w import' });
  const where = `${redactUrl(opts.url)} (schema ${opts.schema})`;
  try {
    await client.connect();
  } catch (err) {
    throw new StoreError(`cannot open ${where}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const present = new Set(
      (
        await client.query<{ c: string }>(
          'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
          [opts.schema, 'sessions'],
        )
      ).rows.map((r) => r.c),
    );
    if (present.size === 0) throw new StoreError(`${where} has no sessions table`);
    const missing = REQUIRED.filter((c) => !present.has(c));
    if (missing.length > 0)
      throw new StoreError(
        `${where}: sessions is not the Media3Watch backend's table (no column ${missing.join(', ')})`,
      );
    if (present.has('app_id') && present.has('payload'))
      throw new StoreError(
        `${where}: sessions is an m3w table, not the Media3Watch backend's; name its schema with --from-schema`,
      );
    const read = COLUMNS.filter(([c]) => present.has(c));
    const known = new Set(['id', 'created_at', ...COLUMNS.map(([c]) => c)]);
    const ignoredColumns = [...present].filter((c) => !known.has(c)).sort();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const total = (await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${schema}.sessions`)).rows[0]!.n;
    await client.query(
      `DECLARE m3w_import NO SCROLL CURSOR FOR SELECT id, ${read.map(([c]) => `"${c}"`).join(', ')} FROM ${schema}.sessions ORDER BY id`,
    );
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    };
    return {
      total,
      columns: ['id', ...read.map(([c]) => c)],
      ignoredColumns,
      async *batches() {
        for (;;) {
          let rows: Array<Record<string, unknown>>;
          try {
            rows = (await client.query(`FETCH FORWARD ${batchRows} FROM m3w_import`)).rows;
          } catch (err) {
            throw new StoreError(`reading ${where} sessions failed: ${(err as Error).message}`, { cause: err });
          }
          if (rows.length === 0) return;
          yield rows.map((r) => {
            const summary: Record<string, unknown> = {};
            for (const [column, field] of read) summary[field] = r[column] ?? null;
            return { id: r.id as number, summary };
          });
        }
      },
      close,
    };
  } catch (err) {
    await client.end().catch(() => {});
    if (err instanceof StoreError) throw err;
    throw new StoreError(`reading ${where} failed: ${(err as Error).message}`, { cause: err });
  }
}
