// What m3w takes from inside its single-file executable: the better-sqlite3 addon compiled for the embedded
// Node, the writer thread's code, the SQL migrations and the dashboard's built files. Run from sources or dist/ (tests, `npm start`) nothing
// here applies: every function answers "not embedded" and the callers use node_modules and the files on disk.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAsset, getRawAsset, isSea } from 'node:sea';
import { isMainThread, workerData } from 'node:worker_threads';

/** Names of the assets build/build-binaries.ts puts into the executable. */
export const EMBEDDED_ASSETS = {
  sqliteAddon: 'better_sqlite3.node',
  writerWorker: 'writer-worker.cjs',
  sqliteMigrations: 'migrations-sqlite.json',
  /** Prefix of the dashboard's files: "web/manifest.json", "web/assets/app-….js.br", as in dist/web/. */
  webPrefix: 'web',
} as const;

/** An embedded migration: its file name (0001_init.sql) and its SQL, byte for byte as in migrations/. */
export interface EmbeddedMigration {
  name: string;
  sql: string;
}

/** True inside the single-file executable. */
export const EMBEDDED: boolean = isSea();

/** The key under which the main thread hands the extracted addon's path to the writer thread. */
const ADDON_PATH_KEY = 'm3wSqliteAddonPath';

/** This thread's copy of the addon; each thread (V8 isolate) needs its own exports object. */
let loaded: { file: string; exports: object } | undefined;

function loadAddon(file: string): object {
  const module = { exports: {} };
  try {
    // The addon is a shared library on disk: a single-file executable cannot dlopen from memory.
    process.dlopen(module, file);
  } catch (err) {
    const reason = (err as Error).message;
    // The addon is compiled on Debian 12; an older C library is the one failure a person can fix by upgrading.
    const hint = /GLIBC/.test(reason)
      ? ' (this m3w needs glibc 2.34 or newer: Debian 12, Ubuntu 22.04, Raspberry Pi OS bookworm)'
      : '';
    throw new Error(`cannot load the SQLite engine extracted to ${file}: ${reason}${hint}`, { cause: err });
  }
  loaded = { file, exports: module.exports };
  return module.exports;
}

/** A per-user folder under the temporary directory that nobody else can write to (it will hold code we run). */
function privateTempDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(os.tmpdir(), `m3w-native-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0)
    throw new Error(`${dir} is not a private directory of this user`);
  return dir;
}

/**
 * Puts `bytes` at `dir/name` unless it is already there. The name carries the content's digest and a file only
 * ever appears under it complete (written beside, then renamed), so a file of the right size is the right file
 * — no need to read 2 MB back on every start. A second m3w starting at the same moment never sees half a file.
 */
function placeFile(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  try {
    if (statSync(file).size === bytes.byteLength) return file;
  } catch {
    // absent: write it
  }
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, bytes, { mode: 0o644 });
  renameSync(partial, file);
  // Libraries of earlier m3w versions are never needed again (one already loaded stays mapped if deleted).
  for (const other of readdirSync(dir))
    if (other !== name && /^better_sqlite3-[0-9a-f]+\.node$/.test(other))
      rmSync(path.join(dir, other), { force: true });
  return file;
}

/**
 * Extracts the embedded addon, preferring `.m3w-native/` beside the database (the data directory is writable
 * by the service and survives restarts, and /tmp may be mounted noexec), then a private folder in the temp dir.
 */
function extractAndLoad(nearFile: string | undefined): object {
  // The raw asset is a view of the executable's own mapped pages: hashing and writing it copies nothing.
  const bytes = new Uint8Array(getRawAsset(EMBEDDED_ASSETS.sqliteAddon) as ArrayBuffer);
  const name = `better_sqlite3-${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}.node`;
  const candidates: Array<() => string> = [];
  if (nearFile && path.isAbsolute(nearFile)) {
    const dir = path.join(path.dirname(nearFile), '.m3w-native');
    candidates.push(() => {
      mkdirSync(dir, { recursive: true });
      return dir;
    });
  }
  candidates.push(privateTempDir);
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return loadAddon(placeFile(candidate(), name, bytes));
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  throw new Error(`cannot prepare the SQLite engine: ${failures.join('; ')}`);
}

/**
 * better-sqlite3's native addon for this thread when running from the executable (extracted beside
 * `nearFile`, a database path, when it can be); undefined otherwise, and better-sqlite3 loads its own build.
 */
export function sqliteAddon(nearFile?: string): object | undefined {
  if (loaded) return loaded.exports;
  const handedOver = isMainThread ? undefined : (workerData as Record<string, unknown> | null)?.[ADDON_PATH_KEY];
  if (typeof handedOver === 'string') return loadAddon(handedOver);
  if (!EMBEDDED) return undefined;
  return extractAndLoad(nearFile);
}

let writerSource: string | undefined;

/**
 * How to start the writer thread from the executable: its bundled code, run with `eval` (a worker cannot
 * load a file from inside the executable), and the worker data that lets it load the addon this thread
 * extracted. Null outside the executable.
 */
export function embeddedWriterWorker(nearFile: string): { source: string; workerData: Record<string, string> } | null {
  if (!EMBEDDED) return null;
  sqliteAddon(nearFile);
  writerSource ??= getAsset(EMBEDDED_ASSETS.writerWorker, 'utf8');
  return { source: writerSource, workerData: { [ADDON_PATH_KEY]: loaded!.file } };
}

/** The SQLite migrations built into the executable, in file-name order; null outside it. */
export function embeddedSqliteMigrations(): EmbeddedMigration[] | null {
  if (!EMBEDDED) return null;
  return JSON.parse(getAsset(EMBEDDED_ASSETS.sqliteMigrations, 'utf8')) as EmbeddedMigration[];
}

/**
 * A dashboard file built into the executable ("/manifest.json", "/assets/app-….js.gz"), as a view of the
 * executable's mapped pages (no copy); null outside the executable or when there is no such file.
 */
export function embeddedWebFile(urlPath: string): Uint8Array | null {
  if (!EMBEDDED) return null;
  try {
    return new Uint8Array(getRawAsset(`${EMBEDDED_ASSETS.webPrefix}${urlPath}`) as ArrayBuffer);
  } catch {
    return null;
  }
}
