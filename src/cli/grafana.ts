// m3w grafana export --out DIR: writes Grafana provisioning (DIR/datasources/m3w.yaml, DIR/dashboards/m3w.yaml
// and DIR/dashboards/m3w.json) for the database the configuration names: on Postgres Grafana reads the rollup
// tables itself; on SQLite (one process owns the file) it reads the read API with a `read` key.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashApiKey } from '../auth/index.ts';
import type { ResolvedConfig } from '../config/index.ts';
import { openStore } from '../store/index.ts';
import { toYaml } from '../tools/yaml-emit.ts';
import {
  DB_PASSWORD_ENV,
  infinityProvisioning,
  type PostgresTarget,
  postgresProvisioning,
  type Provisioning,
  READ_KEY_ENV,
} from './grafana-dashboard.ts';
import type { CliValues } from './options.ts';

/** Grafana's own provisioning folder: where the dashboard provider looks unless --grafana-dir says otherwise. */
const GRAFANA_PROVISIONING = '/etc/grafana/provisioning';

class UsageError extends Error {}

/** The Postgres data source's connection from databaseUrl; the password stays out (Grafana reads it from its env). */
export function postgresTarget(url: string, schema: string, user: string | undefined): PostgresTarget {
  const u = new URL(url);
  const port = u.port || '5432';
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  return {
    host: `${u.hostname || 'localhost'}:${port}`,
    database,
    user: user ?? (decodeURIComponent(u.username) || 'postgres'),
    schema,
    // As m3w itself connects: TLS only when the URL asks for it.
    sslmode: u.searchParams.get('sslmode') ?? 'disable',
  };
}

/** A --key must be an active key of this database with the read scope: a dashboard that cannot read is no use. */
async function checkReadKey(config: ResolvedConfig, key: string): Promise<string> {
  if (config.postgresUrl === null && !existsSync(config.databasePath))
    throw new UsageError(`--key: there is no database at ${config.databasePath} to check the key against`);
  const store = await openStore(config);
  try {
    const record = await store.findApiKeyByHash(hashApiKey(key), Date.now());
    if (!record) throw new UsageError('--key: no active API key matches (create one: m3w apikey create --scope read)');
    if (!record.scopes.includes('read'))
      throw new UsageError(`--key: ${record.prefix} has scopes ${record.scopes.join(',')}; the dashboard needs read`);
    return record.appId;
  } finally {
    await store.close();
  }
}

/**
 * Grafana runs as its own user, so the files must be readable by it: world-readable when they hold no secret
 * (a password or key is left to Grafana's environment), private (0600, for the operator to chown) when they do.
 */
function writeFor(file: string, text: string, secret: boolean): void {
  const mode = secret ? 0o600 : 0o644;
  mkdirSync(path.dirname(file), { recursive: true });
  // A file written before keeps its mode: tighten it before a key goes in, not after.
  if (existsSync(file)) chmodSync(file, mode);
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
}

export async function runGrafana(config: ResolvedConfig, args: string[], values: CliValues): Promise<number> {
  const out = process.stdout;
  let provisioning: Provisioning;
  let notes: string[];
  try {
    if (args[0] !== 'export' || args.length !== 1)
      throw new UsageError(`grafana needs the subcommand export${args[0] ? ` (got "${args.join(' ')}")` : ''}`);
    if (!values.out) throw new UsageError('grafana export needs --out DIR');
    const dashboardsPath = path.posix.join(values['grafana-dir'] ?? GRAFANA_PROVISIONING, 'dashboards');
    if (config.postgresUrl !== null) {
      if (values.key !== undefined)
        throw new UsageError('--key is for SQLite (the read API); on Postgres Grafana reads the database');
      const target = postgresTarget(config.postgresUrl, config.postgres.schema, values['db-user']);
      provisioning = postgresProvisioning(target, dashboardsPath);
      notes = [
        `Data source: Grafana's PostgreSQL data source on ${target.host}/${target.database} as ${target.user}, tables in schema ${target.schema}.`,
        `The password is not written: set ${DB_PASSWORD_ENV} in Grafana's environment. A role that may only read is enough:`,
        `  GRANT USAGE ON SCHEMA "${target.schema}" TO "${target.user}"; GRANT SELECT ON "${target.schema}".apps, "${target.schema}".qoe_minutes, "${target.schema}".qoe_hours TO "${target.user}";`,
      ];
    } else {
      if (values['db-user'] !== undefined)
        throw new UsageError('--db-user is for Postgres; this configuration uses SQLite');
      const baseUrl = values.url ?? config.publicUrl ?? `http://localhost:${config.port}`;
      try {
        const u = new URL(baseUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      } catch {
        throw new UsageError(
          `--url: expected http(s)://host:port where Grafana reaches m3w, got ${JSON.stringify(baseUrl)}`,
        );
      }
      const key = values.key ?? null;
      const app = key === null ? null : await checkReadKey(config, key);
      provisioning = infinityProvisioning({ baseUrl, key }, dashboardsPath);
      notes = [
        `Data source: the Infinity plugin (grafana-cli plugins install yesoreyeram-infinity-datasource) on ${baseUrl}.`,
        key === null
          ? `The read key is not written: set ${READ_KEY_ENV} in Grafana's environment to a key with the read scope (m3w apikey create --name grafana --scope read).`
          : `The read key for app "${app}" is written in datasources/m3w.yaml (mode 0600): chown it to Grafana's user, and keep it private.`,
      ];
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`m3w: ${err.message}\n`);
    return 2;
  }
  const dir = path.resolve(values.out);
  const secret = config.postgresUrl === null && values.key !== undefined;
  const files: Array<[string, string]> = [
    [
      path.join(dir, 'datasources', 'm3w.yaml'),
      toYaml(provisioning.datasource, ['m3w data source for Grafana, written by m3w grafana export.']),
    ],
    [
      path.join(dir, 'dashboards', 'm3w.yaml'),
      toYaml(provisioning.provider, ['Tells Grafana where the m3w dashboard file is, written by m3w grafana export.']),
    ],
    [path.join(dir, 'dashboards', 'm3w.json'), `${JSON.stringify(provisioning.dashboard, null, 2)}\n`],
  ];
  for (const [file, text] of files) {
    writeFor(file, text, secret && file.endsWith(path.join('datasources', 'm3w.yaml')));
    out.write(`wrote ${file}\n`);
  }
  for (const n of notes) out.write(`${n}\n`);
  out.write(
    `Copy ${dir}/datasources and ${dir}/dashboards into Grafana's provisioning folder (${values['grafana-dir'] ?? GRAFANA_PROVISIONING}) and restart Grafana.\n`,
  );
  return 0;
}
