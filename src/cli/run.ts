// The m3w command line: serve (default), migrate, apikey, --version, --help.
import { loadConfig, type ResolvedConfig } from '../config/index.ts';
import { COMMIT, VERSION } from '../version.ts';
import { parseCliArgs, type CliValues, type ParsedCli } from './options.ts';
import { baseDirectory, isStandaloneBinary } from './standalone.ts';

const HELP = `m3w ${VERSION} — self-hosted video analytics backend

Usage: m3w [command] [options]

Commands:
  serve                      Run the server (the default)
  migrate                    Apply database migrations and exit
  apikey create --name NAME [--app APP] [--scope ingest,read] [--origin URL]... [--json]
                             Create an API key (printed once). APP defaults to "default" and is created if new.
                             --origin (repeatable): a site whose pages may use the key, e.g. https://shop.example.com
  apikey list [--json]       List API keys (prefixes only)
  apikey revoke PREFIX       Revoke a key by its prefix (e.g. m3w_1a2b3c4d)
  admin create --email EMAIL --password PASSWORD
                             Create an admin (instead of the setup link), e.g. over SSH
  admin reset-password --email EMAIL [--password PASSWORD]
                             Set a user's password (made up and printed when omitted); signs them out
  backup FILE                Write a consistent copy of the database while the server keeps running
  restore FILE               Replace the database with a backup (refused while a server runs on it)
  doctor                     Check data directory, disk, port, database integrity, ffmpeg and clock
  retention [--dry-run]      Delete what is past its retention now (--dry-run: only print what would go)
  migrate-store --to postgres://… [--schema NAME] [--from FILE]
                             Copy the SQLite database (or FILE) into an empty Postgres schema (resumable; the
                             SQLite file is left as it is); NAME defaults to postgres.schema
  import media3watch --from postgres://… --app APP [--from-schema NAME]
                             Import the Kotlin Media3Watch backend's sessions table into APP (re-runnable)
  service install [--user m3w] [--data-dir /var/lib/m3w] [--dry-run]
                             Run m3w under systemd as a dedicated user (--dry-run prints the unit)
  service uninstall          Stop and remove the systemd service (data is kept)
  grafana export --out DIR [--key KEY] [--url URL] [--db-user USER] [--grafana-dir DIR]
                             Write Grafana provisioning (data source + QoE dashboard) into DIR: on Postgres,
                             SQL over the rollup tables; on SQLite, the read API (Infinity plugin, a read KEY)

Options (override m3w.config.json and the environment):
  --config PATH              Config file (default: ./m3w.config.json if present)
  --port N                   Port to listen on (PORT, default 8080)
  --host ADDR                Address to bind (HOST, default 0.0.0.0)
  --data-dir DIR             Data directory (M3W_DATA_DIR, default ./m3w-data)
  --database-url URL         SQLite file path or sqlite: URL (DATABASE_URL)
  --durability full|normal   full: a 2xx survives power loss (default)
  --log-level LEVEL          fatal|error|warn|info|debug|trace|silent (LOG_LEVEL)
  --no-open                  Do not open a browser on start
  -v, --version              Print the version
  -h, --help                 Print this help
`;

function configFrom(values: CliValues): ResolvedConfig {
  return loadConfig({
    cwd: baseDirectory(),
    configPath: values.config,
    flags: {
      port: values.port,
      host: values.host,
      'data-dir': values['data-dir'],
      'database-url': values['database-url'],
      durability: values.durability,
      'log-level': values['log-level'],
    },
    overrides: values['no-open'] ? { openBrowser: false } : {},
  });
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ParsedCli;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`m3w: ${(err as Error).message}\nRun "m3w --help" for usage.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    const { SqliteStore } = await import('../store/index.ts');
    process.stdout.write(
      `m3w ${VERSION} (commit ${COMMIT}, node ${process.version}, sqlite ${SqliteStore.sqliteVersion()}, ${process.platform}-${process.arch}${isStandaloneBinary() ? ', single binary' : ''})\n`,
    );
    return 0;
  }
  const [command = 'serve', ...rest] = positionals;
  try {
    switch (command) {
      // Commands load their modules on demand, so --help, --version and config errors answer at once.
      case 'serve':
        return await (await import('./serve.ts')).runServe(configFrom(values));
      case 'migrate':
        return await (await import('./migrate.ts')).runMigrate(configFrom(values));
      case 'apikey':
        return await (await import('./apikey.ts')).runApiKey(configFrom(values), rest, values);
      case 'admin':
        return await (await import('./admin.ts')).runAdmin(configFrom(values), rest, values);
      case 'backup':
        return await (await import('./backup.ts')).runBackup(configFrom(values), rest);
      case 'restore':
        return await (await import('./backup.ts')).runRestore(configFrom(values), rest);
      case 'doctor':
        return await (await import('./doctor.ts')).runDoctor(configFrom(values));
      case 'retention':
        return await (await import('./retention.ts')).runRetentionCommand(
          configFrom(values),
          values['dry-run'] ?? false,
        );
      case 'grafana':
        return await (await import('./grafana.ts')).runGrafana(configFrom(values), rest, values);
      case 'migrate-store':
        return await (await import('./migrate-store.ts')).runMigrateStore(configFrom(values), rest, values);
      case 'import':
        return await (await import('./import-media3watch.ts')).runImport(configFrom(values), rest, values);
      case 'service':
        return await (await import('./service.ts')).runService(rest, {
          user: values.user,
          dataDir: values['data-dir'],
          dryRun: values['dry-run'],
        });
      default:
        process.stderr.write(`m3w: unknown command "${command}"\nRun "m3w --help" for usage.\n`);
        return 2;
    }
  } catch (err) {
    // Errors a person can act on are one line; anything else is a bug and keeps its stack.
    if (err instanceof Error && ['ConfigError', 'StartupError', 'StoreError'].includes(err.name)) {
      process.stderr.write(`m3w: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
