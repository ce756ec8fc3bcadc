// Configuration: documented defaults, precedence (defaults < file < env < flags), seed-era env names,
// and errors that name the key, what was expected and where the bad value came from.
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG, ENV_KEYS, loadConfig } from '../src/config/index.ts';
import { makeTempDir } from './helpers/server.ts';

const repoConfig = JSON.parse(readFileSync(new URL('../m3w.config.json', import.meta.url), 'utf8'));

describe('defaults', () => {
  test('m3w.config.json documents exactly the built-in defaults', () => {
    expect(repoConfig).toEqual(DEFAULT_CONFIG);
  });

  test('with nothing set: port 8080 on 0.0.0.0, SQLite in ./m3w-data, full durability, 600 requests per 60 s', () => {
    const dir = makeTempDir();
    const c = loadConfig({ env: {}, cwd: dir });
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      durability: 'full',
      retentionDays: 90,
      enableMetrics: true,
    });
    expect(c.rateLimit).toEqual({ requests: 600, windowSec: 60 });
    expect(c.databasePath).toBe(path.join(dir, 'm3w-data', 'm3w.db'));
    expect(c.configFile).toBeNull();
  });
});

describe('precedence', () => {
  test('file < environment < flags, key by key', () => {
    const dir = makeTempDir();
    writeFileSync(
      path.join(dir, 'm3w.config.json'),
      JSON.stringify({ port: 9000, host: '127.0.0.1', rateLimit: { requests: 10 }, logLevel: 'warn' }),
    );
    const c = loadConfig({ env: { PORT: '9100', RATE_LIMIT_WINDOW_SEC: '30' }, cwd: dir, flags: { port: '9200' } });
    expect(c.port).toBe(9200); // flag beats env beats file
    expect(c.host).toBe('127.0.0.1'); // file beats default
    expect(c.rateLimit).toEqual({ requests: 10, windowSec: 30 }); // nested keys merge
    expect(c.logLevel).toBe('warn');
    expect(c.configFile).toBe(path.join(dir, 'm3w.config.json'));
  });

  test('--config names another file', () => {
    const dir = makeTempDir();
    writeFileSync(path.join(dir, 'custom.json'), JSON.stringify({ durability: 'normal' }));
    expect(loadConfig({ env: {}, cwd: dir, configPath: 'custom.json' }).durability).toBe('normal');
    expect(() => loadConfig({ env: {}, cwd: dir, configPath: 'missing.json' })).toThrow(/missing\.json: not found/);
  });

  test('every seed-era environment name is honoured', () => {
    const c = loadConfig({
      cwd: makeTempDir(),
      env: {
        M3W_API_KEY: 'seed-era-key-123',
        PORT: '1234',
        HOST: '127.0.0.1',
        DATABASE_URL: 'sqlite:///tmp/m3w-seed.db',
        RATE_LIMIT_REQUESTS: '77',
        RATE_LIMIT_WINDOW_SEC: '7',
        RETENTION_DAYS: '30',
        LOG_LEVEL: 'debug',
        ENABLE_METRICS: 'false',
        M3W_DATA_DIR: '/tmp/m3w-seed-data',
      },
    });
    expect(c).toMatchObject({
      apiKey: 'seed-era-key-123',
      port: 1234,
      host: '127.0.0.1',
      databasePath: '/tmp/m3w-seed.db',
      rateLimit: { requests: 77, windowSec: 7 },
      retentionDays: 30,
      logLevel: 'debug',
      enableMetrics: false,
      dataDirPath: '/tmp/m3w-seed-data',
    });
    expect(Object.keys(ENV_KEYS)).toEqual(
      expect.arrayContaining([
        'M3W_API_KEY',
        'PORT',
        'DATABASE_URL',
        'RATE_LIMIT_REQUESTS',
        'RATE_LIMIT_WINDOW_SEC',
        'RETENTION_DAYS',
        'LOG_LEVEL',
        'ENABLE_METRICS',
        'M3W_DATA_DIR',
        'HOST',
      ]),
    );
  });

  test.each([
    ['./rel/a.db', 'rel/a.db'],
    ['sqlite:rel/b.db', 'rel/b.db'],
    ['sqlite://rel/c.db', 'rel/c.db'],
    ['file:rel/d.db', 'rel/d.db'],
  ])('DATABASE_URL %s is a SQLite file', (url, rel) => {
    const dir = makeTempDir();
    expect(loadConfig({ env: { DATABASE_URL: url }, cwd: dir }).databasePath).toBe(path.join(dir, rel));
  });
});

test.each(['postgres://u@h/db', 'postgresql://u@h:5433/db?sslmode=disable'])(
  'DATABASE_URL %s selects Postgres',
  (url) => {
    const c = loadConfig({ env: { DATABASE_URL: url, M3W_POSTGRES_SCHEMA: 'm3w_a' }, cwd: makeTempDir() });
    expect(c.postgresUrl).toBe(url);
    expect(c.postgres).toEqual({ schema: 'm3w_a', poolSize: 10 });
  },
);

describe('bad configuration stops start-up with a message naming the key', () => {
  const dir = makeTempDir();
  test.each([
    [{ PORT: 'abc' }, /^port \(from environment variable PORT\): expected an integer from 0 to 65535, got "abc"$/],
    [{ PORT: '65536' }, /^port .*got 65536$/],
    [
      { RATE_LIMIT_REQUESTS: '0' },
      /^rateLimit\.requests \(from environment variable RATE_LIMIT_REQUESTS\): expected an integer from 1/,
    ],
    [{ RATE_LIMIT_WINDOW_SEC: '1.5' }, /^rateLimit\.windowSec .*got 1\.5$/],
    [{ ENABLE_METRICS: 'maybe' }, /^enableMetrics .*expected true or false, got "maybe"$/],
    [{ LOG_LEVEL: 'loud' }, /^logLevel .*expected one of fatal, error/],
    [{ RETENTION_DAYS: '-1' }, /^retentionDays /],
    [{ M3W_API_KEY: 'short' }, /^apiKey .*8 to 256 visible/],
    [{ M3W_DURABILITY: 'sometimes' }, /^durability .*"full" or "normal"/],
    [{ M3W_POSTGRES_SCHEMA: 'Bad-Name' }, /^postgres\.schema .*lower-case SQL identifier/],
    [{ M3W_POSTGRES_POOL_SIZE: '0' }, /^postgres\.poolSize .*from 1 to 1000/],
  ])('%o', (env, message) => {
    expect(() => loadConfig({ env: env as Record<string, string>, cwd: dir })).toThrow(message);
  });

  test('an unknown key in the file', () => {
    const d = makeTempDir();
    writeFileSync(path.join(d, 'm3w.config.json'), JSON.stringify({ port: 1, prot: 2 }));
    expect(() => loadConfig({ env: {}, cwd: d })).toThrow(/unknown key "prot"/);
    writeFileSync(path.join(d, 'm3w.config.json'), JSON.stringify({ rateLimit: { request: 2 } }));
    expect(() => loadConfig({ env: {}, cwd: d })).toThrow(/unknown key "rateLimit\.request"/);
  });

  test('a wrong type in the file names the file', () => {
    const d = makeTempDir();
    writeFileSync(path.join(d, 'm3w.config.json'), JSON.stringify({ port: '8080x' }));
    expect(() => loadConfig({ env: {}, cwd: d })).toThrow(
      /^port \(from config file .*m3w\.config\.json\): expected an integer/,
    );
    writeFileSync(path.join(d, 'm3w.config.json'), '{ not json');
    expect(() => loadConfig({ env: {}, cwd: d })).toThrow(/m3w\.config\.json: /);
  });

  test('a bad flag names the flag', () => {
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { port: '-1' } })).toThrow(/^port \(from option --port\)/);
  });
});
