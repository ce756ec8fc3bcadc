// m3w import media3watch --from postgres://… --app ID [--from-schema NAME]: reads the original Kotlin Media3Watch
// backend's sessions table in id order and feeds it, 1,000 rows at a time, through m3w's own ingestion (the
// SessionSummary validator, then the store's upsert, as POST /v1/sessions does) into the configured store, SQLite
// or Postgres. Idempotent: a session already stored with the same or a newer timestamp is left as it is.
import type { ResolvedConfig } from '../config/index.ts';
import { validateSessionSummary, type IngestedSession } from '../ingest/index.ts';
import { openMedia3WatchSource, openStore, storeLocation } from '../store/index.ts';
import type { CliValues } from './options.ts';
import { progressBar } from './progress-bar.ts';

const APP_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const SHOWN_PROBLEMS = 5;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export const KOTLIN_UPSERT_NOTE =
  "The Media3Watch backend's upsert replaced a stored session only WHERE sessions.timestamp >= EXCLUDED.timestamp: when the SDK sent a session again with a newer timestamp it kept the older summary, so its table holds the oldest summary it received for each re-sent session (the newer ones were never stored and cannot be imported). From now on m3w keeps the newest: a repeat with an equal or newer timestamp replaces the stored session.";

export async function runImport(config: ResolvedConfig, args: string[], values: CliValues): Promise<number> {
  const usage = (message: string) => {
    process.stderr.write(`m3w: ${message}\n`);
    return 2;
  };
  const [kind, ...extra] = args;
  if (kind !== 'media3watch')
    return usage(
      `import needs a source: import media3watch --from postgres://… --app ID${kind ? ` (got "${kind}")` : ''}`,
    );
  if (extra.length > 0) return usage(`import media3watch takes no further arguments (got "${extra[0]}")`);
  const from = values.from;
  if (!from || !/^postgres(ql)?:\/\//.test(from))
    return usage(
      "import media3watch needs --from postgres://USER@HOST:PORT/DATABASE (the Media3Watch backend's database)",
    );
  const appId = values.app;
  if (!appId || !APP_ID.test(appId))
    return usage(
      `import media3watch needs --app ID (lowercase letters, digits and dashes), got ${JSON.stringify(appId ?? '')}`,
    );
  const fromSchema = values['from-schema'] ?? 'public';
  if (!SCHEMA.test(fromSchema))
    return usage(`--from-schema must be a lower-case SQL identifier, got ${JSON.stringify(fromSchema)}`);

  const started = performance.now();
  const source = await openMedia3WatchSource({ url: from, schema: fromSchema });
  try {
    const store = await openStore(config);
    try {
      const existed = (await store.getApp(appId)) !== null;
      if (!existed) await store.ensureApp(appId, appId, Date.now());
      const before = await store.countSessions(appId);
      process.stdout.write(
        `Importing ${fmt(source.total)} Media3Watch sessions into app "${appId}"${existed ? '' : ' (created)'} of ${storeLocation(config)}\n`,
      );
      if (source.ignoredColumns.length > 0)
        process.stdout.write(`Columns not imported: ${source.ignoredColumns.join(', ')}\n`);
      const bar = progressBar(process.stdout);
      let read = 0;
      let stored = 0;
      const problems: string[] = [];
      let refused = 0;
      // The next batch is fetched from the Kotlin database while this one is written.
      const batches = source.batches();
      let pending = batches.next();
      for (;;) {
        const fetched = await pending;
        if (fetched.done) break;
        const rows = fetched.value;
        pending = batches.next();
        pending.catch(() => {}); // awaited on the next turn; a write that throws first must not leave it unhandled
        const sessions: IngestedSession[] = [];
        for (const row of rows) {
          const result = validateSessionSummary(row.summary);
          if (result.ok) sessions.push(result.session);
          else {
            refused++;
            if (problems.length < SHOWN_PROBLEMS)
              problems.push(
                `id ${row.id} (session ${JSON.stringify(row.summary.sessionId)}): ${result.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
              );
          }
        }
        if (sessions.length > 0) await store.upsertSessions(appId, sessions, Date.now());
        read += rows.length;
        stored += sessions.length;
        bar.update('sessions', read, source.total);
      }
      bar.finish('sessions', read, source.total);
      const added = (await store.countSessions(appId)) - before;
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(
        `Read ${fmt(read)} rows in ${seconds.toFixed(1)} s (${fmt(read / Math.max(seconds, 0.001))} rows/s): ${fmt(added)} new sessions, ${fmt(stored - added)} already in m3w (the newer timestamp of the two kept), ${fmt(refused)} refused by validation\n`,
      );
      for (const p of problems) process.stdout.write(`  refused: ${p}\n`);
      if (refused > problems.length) process.stdout.write(`  … and ${fmt(refused - problems.length)} more\n`);
      process.stdout.write(`Note: ${KOTLIN_UPSERT_NOTE}\n`);
      return 0;
    } finally {
      await store.close();
    }
  } finally {
    await source.close();
  }
}
