// The m3w command's option table and the parsed values it yields: a leaf inside cli/ that run.ts and the
// subcommands both import, so no subcommand has to import run.ts for a type.
import { parseArgs } from 'node:util';

const OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  durability: { type: 'string' },
  'log-level': { type: 'string' },
  name: { type: 'string' },
  app: { type: 'string' },
  scope: { type: 'string' },
  origin: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  user: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  'dry-run': { type: 'boolean' },
  out: { type: 'string' },
  key: { type: 'string' },
  url: { type: 'string' },
  'db-user': { type: 'string' },
  'grafana-dir': { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  schema: { type: 'string' },
  'from-schema': { type: 'string' },
  'no-open': { type: 'boolean' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses argv strictly: an unknown option or a missing value throws, naming it. */
export function parseCliArgs(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

export type ParsedCli = ReturnType<typeof parseCliArgs>;
export type CliValues = ParsedCli['values'];
