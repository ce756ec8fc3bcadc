// Starts a real m3w server in this process: a real SQLite file in a fresh temp dir (or, with TEST_STORE=postgres,
// a Postgres schema of its own in TEST_DATABASE_URL), a real HTTP server on an ephemeral port, and the log lines
// captured for inspection.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config, type ResolvedConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.ts';

export interface TestServer {
  url: string;
  /** The ingest key created on first start. */
  apiKey: string;
  server: RunningServer;
  config: ResolvedConfig;
  dir: string;
  /** Parsed JSON log records, in order. */
  logs: Array<Record<string, unknown>>;
  /** Raw log text. */
  logText(): string;
  close(): Promise<void>;
}

export function makeTempDir(prefix = 'm3w-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** TEST_STORE=postgres: API suites run against Postgres (a schema per server directory, dropped on close). */
export const TEST_STORE = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The one switch for tests of the SQLite file itself (its durability, WAL, file backup/restore): true on SQLite;
 * under TEST_STORE=postgres false, after printing what is skipped and why (these tests have no Postgres
 * counterpart, so they never fail CI's Postgres pass by skipping). Use as `test.skipIf(!sqliteOnly('…'))(…)`.
 */
export function sqliteOnly(why: string): boolean {
  if (TEST_STORE !== 'postgres') return true;
  console.warn(`skipped under TEST_STORE=postgres (SQLite only): ${why}`);
  return false;
}

/** The store overrides of a test server in `dir`: none for SQLite; for Postgres, a schema named after the dir. */
function storeOverrides(dir: string): Partial<Config> {
  if (TEST_STORE !== 'postgres') return {};
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error('TEST_STORE=postgres needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  const schema = `m3w_srv_${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
  return { databaseUrl: url, postgres: { schema, poolSize: 4 } };
}

/**
 * The environment an `m3w` child process needs to open a test server's database: none on SQLite (--data-dir
 * finds the file); under TEST_STORE=postgres, DATABASE_URL and M3W_POSTGRES_SCHEMA naming the server's schema.
 */
export function storeEnv(ts: { config: ResolvedConfig }): Record<string, string> {
  if (ts.config.postgresUrl === null) return {};
  return { DATABASE_URL: ts.config.postgresUrl, M3W_POSTGRES_SCHEMA: ts.config.postgres.schema };
}

export async function startTestServer(
  overrides: Partial<Config> = {},
  dir = makeTempDir(),
  startOptions: Omit<StartOptions, 'logger'> = {},
): Promise<TestServer> {
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: { host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'info', ...storeOverrides(dir), ...overrides },
  });
  const raw: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      const text = String(chunk);
      raw.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const server = await startServer(config, {
    ...startOptions,
    logger: createLogger({ level: config.logLevel, destination }),
  });
  // The fixtures' sessions are from 2024: retention's first run (at start-up, 90 days by default) would delete any
  // acknowledged before it got to them, which on a loaded Postgres looked like lost writes.
  await server.analytics.caughtUp();
  let closed = false;
  return {
    url: server.url,
    apiKey: server.bootstrap.createdKey ?? '',
    server,
    config,
    dir,
    logs,
    logText: () => raw.join(''),
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      if (config.postgresUrl !== null && TEST_STORE === 'postgres') {
        const { dropSchema } = await import('./stores.ts');
        await dropSchema(config.postgres.schema);
      }
    },
  };
}

/** A SessionSummary exactly as the Media3Watch Android SDK sends it: every metric present, unknown ones null. */
export function sdkSession(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const timestamp = 1_732_000_000_000;
  return {
    sessionId: 'b1c6f7de-5a0e-4c3f-9c4e-0d5a8e1f2a3b',
    timestamp,
    sessionStartDateIso: '2024-11-19T07:05:40.000Z',
    sessionDurationMs: 60_000,
    startupTimeMs: 850,
    rebufferTimeMs: null,
    playTimeMs: 58_900,
    totalDroppedFrames: 3,
    totalSeekTimeMs: null,
    rebufferCount: 0,
    totalSeekCount: null,
    errorCount: 0,
    rebufferRatio: 0.0,
    meanVideoFormatBitrate: 2_500_000,
    ...overrides,
  };
}

// A session dated an hour ago plus `offsetMs`: inside the retention window, so the retention run at start-up (and
// after a restart) cannot delete what a test counts as acknowledged, as it does fixture sessions from 2024.
const RECENT = Date.now() - 3_600_000;
export function recentSdkSession(sessionId: string, offsetMs: number): Record<string, unknown> {
  const timestamp = RECENT + offsetMs;
  return sdkSession({ sessionId, timestamp, sessionStartDateIso: new Date(timestamp - 60_000).toISOString() });
}

export interface PostOptions {
  key?: string | null;
  headers?: Record<string, string>;
  contentType?: string | null;
}

/** POSTs a body (object → JSON; string/Buffer as is) to /v1/sessions. */
export async function postSessions(url: string, body: unknown, opts: PostOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json; charset=utf-8';
  if (opts.key) headers['x-api-key'] = opts.key;
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return fetch(`${url}/v1/sessions`, { method: 'POST', headers, body: payload });
}
