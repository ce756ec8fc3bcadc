// m3w migrate-store --to postgres://… [--schema NAME] [--from FILE]: moves the SQLite database (the configured one,
// or FILE) into an empty Postgres schema, resumably, and checks every table's row count at the end.
import path from 'node:path';
import type { ResolvedConfig } from '../config/index.ts';
import { copySqliteToPostgres, StoreError } from '../store/index.ts';
import type { CliValues } from './options.ts';
import { progressBar } from './progress-bar.ts';

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function runMigrateStore(config: ResolvedConfig, args: string[], values: CliValues): Promise<number> {
  const to = values.to;
  const usage = (message: string) => {
    process.stderr.write(`m3w: ${message}\n`);
    return 2;
  };
  if (args.length > 0) return usage(`migrate-store takes no arguments (got "${args[0]}")`);
  if (!to || !/^postgres(ql)?:\/\//.test(to))
    return usage('migrate-store needs --to postgres://USER@HOST:PORT/DATABASE (the Postgres to copy into)');
  const schema = values.schema ?? config.postgres.schema;
  if (!SCHEMA.test(schema)) return usage(`--schema must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
  let source: string;
  if (values.from !== undefined) source = path.resolve(values.from);
  else if (config.postgresUrl === null) source = config.databasePath;
  else
    throw new StoreError(
      'migrate-store copies a SQLite database, but the configured database is Postgres; name the SQLite file with --from FILE',
    );

  let shownTo = 'postgres://…';
  try {
    const u = new URL(to);
    if (u.password) u.password = '***';
    shownTo = u.toString();
  } catch {}
  process.stdout.write(`Copying ${source} to ${shownTo} (schema ${schema})\n`);
  const bar = progressBar(process.stdout);
  const report = await copySqliteToPostgres({
    sqliteFile: source,
    url: to,
    schema,
    onProgress: (p) => (p.tableDone ? bar.finish(p.table, p.copied, p.total) : bar.update(p.table, p.copied, p.total)),
  });
  const seconds = report.ms / 1000;
  process.stdout.write(
    `${report.resumed ? 'Resumed an earlier run: ' : ''}copied ${fmt(report.copiedThisRun)} rows in ${seconds.toFixed(1)} s (${fmt(report.copiedThisRun / Math.max(seconds, 0.001))} rows/s)\n`,
  );
  process.stdout.write('Row counts, SQLite → Postgres:\n');
  const width = Math.max(...report.counts.map((c) => c.table.length));
  for (const c of report.counts)
    process.stdout.write(
      `  ${c.table.padEnd(width)}  ${fmt(c.source).padStart(12)} → ${fmt(c.target).padEnd(12)} ${c.source === c.target ? 'ok' : 'DIFFERENT'}\n`,
    );
  if (!report.countsMatch) {
    const bad = report.counts.filter((c) => c.source !== c.target).map((c) => c.table);
    process.stderr.write(
      `m3w: the row counts of ${bad.join(', ')} differ: the SQLite database changed since the copy began, or the schema was written to; drop schema ${schema} and run migrate-store again\n`,
    );
    return 1;
  }
  process.stdout.write(
    `All ${report.counts.length} tables match; ${source} was not changed.\nRun m3w on Postgres with DATABASE_URL=${shownTo} M3W_POSTGRES_SCHEMA=${schema} (keep the data directory: its keys sign logins and open alert channels).\n`,
  );
  return 0;
}
