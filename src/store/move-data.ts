// Moving data into m3w: a SQLite m3w database into Postgres (migrate-store), and the original Kotlin Media3Watch
// backend's sessions table out of its Postgres (import media3watch). Both load the pg driver only when called.
import type { CopyReport, CopyToPostgresOptions } from './postgres/copy-from-sqlite.ts';
import type { Media3WatchSource, Media3WatchSourceOptions } from './postgres/media3watch-source.ts';

export type { CopyProgress, CopyReport, CopyToPostgresOptions, TableCount } from './postgres/copy-from-sqlite.ts';
export type { Media3WatchRow, Media3WatchSource, Media3WatchSourceOptions } from './postgres/media3watch-source.ts';

/** Copies every table of the SQLite m3w database into an empty (or partly copied) Postgres schema. */
export async function copySqliteToPostgres(opts: CopyToPostgresOptions): Promise<CopyReport> {
  return (await import('./postgres/copy-from-sqlite.ts')).copySqliteToPostgres(opts);
}

/** Opens the Kotlin Media3Watch backend's sessions table for reading in id order. */
export async function openMedia3WatchSource(opts: Media3WatchSourceOptions): Promise<Media3WatchSource> {
  return (await import('./postgres/media3watch-source.ts')).openMedia3WatchSource(opts);
}
