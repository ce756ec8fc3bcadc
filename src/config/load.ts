// Builds the effective configuration: defaults < config file < environment < CLI flags.
// Every value is validated once, on the merged result, and an error names where the bad value came from.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Compile } from 'typebox/compile';
import { issuesFromErrors } from '../tools/field-issues.ts';
import { ConfigSchema, DEFAULT_CONFIG, type Config } from './schema.ts';

const validator = Compile(ConfigSchema);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment names, including the seed-era ones that existing deployments already set. */
export const ENV_KEYS: Record<string, string> = {
  M3W_API_KEY: 'apiKey',
  PORT: 'port',
  HOST: 'host',
  DATABASE_URL: 'databaseUrl',
  M3W_DATA_DIR: 'dataDir',
  M3W_DURABILITY: 'durability',
  M3W_POSTGRES_SCHEMA: 'postgres.schema',
  M3W_POSTGRES_POOL_SIZE: 'postgres.poolSize',
  RATE_LIMIT_REQUESTS: 'rateLimit.requests',
  RATE_LIMIT_WINDOW_SEC: 'rateLimit.windowSec',
  RETENTION_DAYS: 'retentionDays',
  LOG_LEVEL: 'logLevel',
  ENABLE_METRICS: 'enableMetrics',
  M3W_TRUST_PROXY: 'trustProxy',
  M3W_SESSION_SYNC_INTERVAL_SECONDS: 'sessionSyncIntervalSeconds',
  M3W_STALE_SESSION_HOURS: 'staleSessionHours',
  M3W_LIVE_MAX_OPEN_PLAYS: 'liveMaxOpenPlays',
  M3W_LIVE_MAX_OPEN_PLAYS_PER_APP: 'liveMaxOpenPlaysPerApp',
  M3W_WEBHOOK_EVENTS_PER_MINUTE: 'webhookEventsPerMinute',
  M3W_MINUTE_ROLLUP_DAYS: 'minuteRollupDays',
  M3W_HOURLY_ROLLUP_DAYS: 'hourlyRollupDays',
  M3W_LIVE_INTERVAL_MS: 'liveIntervalMs',
  M3W_KEY_ROTATION_GRACE_HOURS: 'keyRotationGraceHours',
  M3W_OPEN_BROWSER: 'openBrowser',
  M3W_FFMPEG: 'ffmpegPath',
  M3W_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  M3W_MIN_FREE_DISK_BYTES: 'minFreeDiskBytes',
  M3W_TRANSCODE_CONCURRENCY: 'transcode.concurrency',
};

/** CLI flags that override single keys. */
export const FLAG_KEYS: Record<string, string> = {
  port: 'port',
  host: 'host',
  'data-dir': 'dataDir',
  'database-url': 'databaseUrl',
  durability: 'durability',
  'log-level': 'logLevel',
};

export interface LoadOptions {
  /** Explicit config file (`--config`); when absent, `m3w.config.json` in `cwd` is read if it exists. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, string | undefined>;
  cwd?: string;
  /** Values set by code (tests, embedding); applied last. */
  overrides?: Partial<Config>;
}

export interface ResolvedConfig extends Config {
  /** Absolute path of the SQLite database file (unused when `postgresUrl` is set). */
  databasePath: string;
  /** The postgres:// URL when databaseUrl names a Postgres database, else null (SQLite). */
  postgresUrl: string | null;
  /** Absolute data directory. */
  dataDirPath: string;
  /** The config file that was read, if any. */
  configFile: string | null;
}

type Origins = Map<string, string>;
type Plain = Record<string, unknown>;

const isPlainObject = (x: unknown): x is Plain => typeof x === 'object' && x !== null && !Array.isArray(x);

function setPath(target: Plain, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Plain;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Keys the schema does not know, as dotted paths. */
function unknownKeys(input: Plain, known: Plain, prefix = ''): string[] {
  const found: string[] = [];
  for (const key of Object.keys(input)) {
    const dotted = prefix + key;
    if (!Object.hasOwn(known, key)) found.push(dotted);
    else if (isPlainObject(known[key]) && isPlainObject(input[key]))
      found.push(...unknownKeys(input[key] as Plain, known[key] as Plain, dotted + '.'));
  }
  return found;
}

function mergeInto(target: Plain, source: Plain, origin: string, origins: Origins, prefix = ''): void {
  for (const [key, value] of Object.entries(source)) {
    const dotted = prefix + key;
    if (isPlainObject(value) && isPlainObject(target[key])) {
      mergeInto(target[key] as Plain, value, origin, origins, dotted + '.');
    } else {
      target[key] = value;
      origins.set(dotted, origin);
    }
  }
}

/** Strings from the environment or the command line become numbers and booleans where the schema wants them. */
function coerce(dotted: string, raw: string): unknown {
  const expected = dotted.split('.').reduce<unknown>((node, k) => (node as Plain)[k], DEFAULT_CONFIG);
  if (typeof expected === 'number' && /^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw.trim());
  if (typeof expected === 'boolean') {
    const lower = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(lower)) return true;
    if (['false', '0', 'no', 'off'].includes(lower)) return false;
  }
  return raw;
}

function readConfigFile(file: string): Plain {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`config file ${file}: expected a JSON object`);
  // "$schema" and "//" keys are allowed so the file can document itself.
  const { $schema: _schema, ...rest } = parsed;
  for (const key of Object.keys(rest)) if (key.startsWith('//')) delete rest[key];
  const unknown = unknownKeys(rest, DEFAULT_CONFIG as unknown as Plain);
  if (unknown.length > 0)
    throw new ConfigError(
      `config file ${file}: unknown key "${unknown[0]}" (known keys: ${Object.keys(DEFAULT_CONFIG).join(', ')})`,
    );
  return rest;
}

/** A postgres:// or postgresql:// URL: the Postgres adapter (preview). */
export const isPostgresUrl = (url: string) => /^(postgres|postgresql):\/\//i.test(url);

/** Turns DATABASE_URL forms (plain path, `sqlite:path`, `sqlite://path`, `file:path`) into a file path. */
export function sqlitePathFromUrl(url: string): string {
  if (/^(postgres|postgresql):/i.test(url))
    throw new ConfigError(`databaseUrl: expected postgres://user@host:port/database, got "${url}"`);
  const m = /^(?:sqlite|file):(?:\/\/)?(.*)$/i.exec(url);
  const p = m ? m[1]! : url;
  if (p === '' || p.includes('?')) throw new ConfigError(`databaseUrl: expected a SQLite file path, got "${url}"`);
  return p;
}

export function loadConfig(opts: LoadOptions = {}): ResolvedConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const origins: Origins = new Map();
  const merged: Plain = structuredClone(DEFAULT_CONFIG) as unknown as Plain;

  const explicit = opts.configPath ?? (env.M3W_CONFIG || undefined);
  const candidate = explicit ? path.resolve(cwd, explicit) : path.join(cwd, 'm3w.config.json');
  let configFile: string | null = null;
  if (explicit && !existsSync(candidate)) throw new ConfigError(`config file ${candidate}: not found`);
  if (existsSync(candidate)) {
    configFile = candidate;
    mergeInto(merged, readConfigFile(candidate), `config file ${candidate}`, origins);
  }

  for (const [name, dotted] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const patch: Plain = {};
    setPath(patch, dotted, coerce(dotted, raw));
    mergeInto(merged, patch, `environment variable ${name}`, origins);
  }

  for (const [flag, raw] of Object.entries(opts.flags ?? {})) {
    if (raw === undefined) continue;
    const dotted = FLAG_KEYS[flag];
    if (!dotted) throw new ConfigError(`unknown option --${flag}`);
    const patch: Plain = {};
    setPath(patch, dotted, coerce(dotted, raw));
    mergeInto(merged, patch, `option --${flag}`, origins);
  }

  if (opts.overrides) mergeInto(merged, opts.overrides as Plain, 'overrides', origins);

  if (!validator.Check(merged)) {
    const issue = issuesFromErrors(ConfigSchema, merged, validator.Errors(merged))[0]!;
    const from = origins.get(issue.field);
    throw new ConfigError(`${issue.field}${from ? ` (from ${from})` : ''}: ${issue.message}`);
  }
  const config = merged as Config;
  const dataDirPath = path.resolve(cwd, config.dataDir);
  const postgresUrl = config.databaseUrl !== null && isPostgresUrl(config.databaseUrl) ? config.databaseUrl : null;
  const databasePath =
    config.databaseUrl === null || postgresUrl !== null
      ? path.join(dataDirPath, 'm3w.db')
      : path.resolve(cwd, sqlitePathFromUrl(config.databaseUrl));
  return { ...config, dataDirPath, databasePath, postgresUrl, configFile };
}
