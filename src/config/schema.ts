// The shape of m3w's configuration: one valibot schema that is both the validator and the type.
// Defaults live here; m3w.config.json documents the same values (a test keeps them equal).
import * as v from 'valibot';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const int = (min: number, max: number, what: string) =>
  v.pipe(
    v.number(`expected ${what}`),
    v.safeInteger(`expected ${what}`),
    v.minValue(min, `expected ${what}`),
    v.maxValue(max, `expected ${what}`),
  );

export const ConfigSchema = v.strictObject({
  host: v.pipe(v.string('expected a host name or address'), v.nonEmpty('expected a host name or address')),
  port: int(0, 65535, 'an integer from 0 to 65535'),
  dataDir: v.pipe(v.string('expected a directory path'), v.nonEmpty('expected a directory path')),
  databaseUrl: v.nullable(
    v.pipe(v.string('expected a SQLite path or sqlite: URL'), v.nonEmpty('expected a SQLite path or sqlite: URL')),
  ),
  durability: v.picklist(['full', 'normal'], 'expected "full" or "normal"'),
  apiKey: v.nullable(
    v.pipe(
      v.string('expected a string of 8 to 256 visible characters'),
      v.regex(/^[\x21-\x7e]{8,256}$/, 'expected a string of 8 to 256 visible characters'),
    ),
  ),
  rateLimit: v.strictObject({
    requests: int(1, 1_000_000_000, 'an integer from 1 to 1000000000'),
    windowSec: int(1, 86_400, 'an integer from 1 to 86400 (seconds)'),
  }),
  retentionDays: int(1, 36_500, 'an integer from 1 to 36500 (days)'),
  logLevel: v.picklist(LOG_LEVELS, `expected one of ${LOG_LEVELS.join(', ')}`),
  enableMetrics: v.boolean('expected true or false'),
  trustProxy: v.boolean('expected true or false'),
  maxBodyBytes: int(1024, 64 * 1024 * 1024, 'an integer from 1024 to 67108864 (bytes)'),
  maxBatchSize: int(1, 10_000, 'an integer from 1 to 10000'),
});

export type Config = v.InferOutput<typeof ConfigSchema>;

export const DEFAULT_CONFIG: Config = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './m3w-data',
  databaseUrl: null,
  durability: 'full',
  apiKey: null,
  rateLimit: { requests: 600, windowSec: 60 },
  retentionDays: 90,
  logLevel: 'info',
  enableMetrics: true,
  trustProxy: false,
  maxBodyBytes: 1_048_576,
  maxBatchSize: 1000,
};
