// m3w apikey create | list | revoke — works on the database directly, also while a server runs
// (a revoked key stops working there within 10 seconds, the server's key cache lifetime).
import type { ResolvedConfig } from '../config/index.ts';
import {
  ACCESS_CHANGED_TOPIC,
  createApiKey,
  DEFAULT_APP_ID,
  normalizeOrigins,
  normalizePrefix,
} from '../auth/index.ts';
import { openStore, SCOPES, type Scope } from '../store/index.ts';
import type { CliValues } from './options.ts';

const APP_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

class UsageError extends Error {}

function parseScopes(raw: string | undefined): Scope[] {
  const scopes = (raw ?? 'ingest')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.find((s) => !SCOPES.includes(s as Scope));
  if (bad !== undefined || scopes.length === 0)
    throw new UsageError(`--scope must be a comma-separated list of ${SCOPES.join(', ')}, got ${JSON.stringify(raw)}`);
  return [...new Set(scopes)] as Scope[];
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

export async function runApiKey(config: ResolvedConfig, args: string[], values: CliValues): Promise<number> {
  const [sub, ...rest] = args;
  let scopes: Scope[] = [];
  let origins: string[] = [];
  try {
    if (sub === 'create') {
      if (!values.name || values.name.trim() === '' || values.name.length > 100)
        throw new UsageError('apikey create needs --name NAME (1 to 100 characters)');
      const appId = values.app ?? DEFAULT_APP_ID;
      if (!APP_ID.test(appId))
        throw new UsageError(`--app must be lowercase letters, digits and dashes, got ${JSON.stringify(appId)}`);
      scopes = parseScopes(values.scope);
      try {
        origins = normalizeOrigins(values.origin ?? []);
      } catch (err) {
        throw new UsageError(`--origin: ${(err as Error).message}`);
      }
    } else if (sub === 'revoke') {
      if (rest.length !== 1) throw new UsageError('apikey revoke needs exactly one PREFIX');
    } else if (sub !== 'list') {
      throw new UsageError(`apikey needs a subcommand: create, list or revoke${sub ? ` (got "${sub}")` : ''}`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`m3w: ${err.message}\n`);
    return 2;
  }

  const store = await openStore(config);
  try {
    if (sub === 'create') {
      const appId = values.app ?? DEFAULT_APP_ID;
      await store.ensureApp(appId, appId === DEFAULT_APP_ID ? 'Default app' : appId, Date.now());
      const { key, record } = await createApiKey(store, {
        appId,
        name: values.name!.trim(),
        scopes,
        allowedOrigins: origins,
      });
      if (values.json)
        process.stdout.write(
          JSON.stringify({
            key,
            prefix: record.prefix,
            app: appId,
            name: record.name,
            scopes: record.scopes,
            allowedOrigins: record.allowedOrigins,
            createdAt: record.createdAt,
          }) + '\n',
        );
      else
        process.stdout.write(
          `Created API key "${record.name}" for app "${appId}" (scopes: ${record.scopes.join(',')}` +
            `${record.allowedOrigins.length ? `; browser origins: ${record.allowedOrigins.join(' ')}` : ''}).\n` +
            `It is shown only this once:\n\n  ${key}\n\n`,
        );
      return 0;
    }
    if (sub === 'list') {
      const keys = await store.listApiKeys();
      if (values.json) {
        process.stdout.write(JSON.stringify(keys) + '\n');
        return 0;
      }
      const rows = [
        ['PREFIX', 'APP', 'NAME', 'SCOPES', 'ORIGINS', 'CREATED', 'LAST USED', 'STATUS'],
        ...keys.map((k) => [
          k.prefix,
          k.appId,
          k.name,
          k.scopes.join(','),
          k.allowedOrigins.join(',') || '-',
          iso(k.createdAt),
          iso(k.lastUsedAt),
          k.revokedAt ? 'revoked' : 'active',
        ]),
      ];
      const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      for (const r of rows)
        process.stdout.write(
          r
            .map((cell, c) => cell.padEnd(widths[c]!))
            .join('  ')
            .trimEnd() + '\n',
        );
      return 0;
    }
    const prefix = normalizePrefix(rest[0]!);
    if (await store.revokeApiKey(prefix, Date.now())) {
      // Servers sharing a Postgres database hear it at once; a SQLite server drops its cached key within 10 s.
      const bus = await store.openInstanceBus();
      bus?.publish(ACCESS_CHANGED_TOPIC, '', {});
      await bus?.close();
      process.stdout.write(
        `Revoked ${prefix}. Running servers stop accepting it ${bus ? 'now' : 'within 10 seconds'}.\n`,
      );
      return 0;
    }
    process.stderr.write(`m3w: no active API key with prefix ${prefix}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
