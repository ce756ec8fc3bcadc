// The CLI on Postgres: with DATABASE_URL=postgres://… every command works on the schema M3W_POSTGRES_SCHEMA names
// (migrate, doctor, apikey), and what is not there yet (backup, restore) says so.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/child.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { makeTempDir } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';

describe.skipIf(!needs('postgres'))('m3w CLI on Postgres', () => {
  const dir = makeTempDir('m3w-pg-cli-');
  const schema = testSchemaName();
  const env = { DATABASE_URL: TEST_DATABASE_URL, M3W_POSTGRES_SCHEMA: schema };
  const m3w = (...args: string[]) => runCli(args, { cwd: dir, env });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  test('doctor sees the pending migration, migrate applies it once, doctor then finds it up to date', () => {
    expect(m3w('doctor').stdout).toMatch(new RegExp(`schema ${schema}\\) is reachable; \\d+ migrations? to apply`));
    const first = m3w('migrate');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^applied 0001_init\\.sql\\n(applied .*\\n)*.*\\(schema ${schema}\\): \\d+ applied, 0 already`),
    );
    expect(m3w('migrate').stdout).toMatch(/: 0 applied, \d+ already up to date/);
    expect(m3w('doctor').stdout).toMatch(/is reachable; its schema is up to date/);
  });

  test('apikey create and list work on the schema; backup and restore say they are not there yet', () => {
    const created = m3w('apikey', 'create', '--name', 'pg', '--json');
    expect(created.status, created.stderr).toBe(0);
    const { prefix } = JSON.parse(created.stdout) as { prefix: string };
    const list = JSON.parse(m3w('apikey', 'list', '--json').stdout) as Array<{ prefix: string }>;
    expect(list.map((k) => k.prefix)).toContain(prefix);
    const backup = m3w('backup', 'copy.db');
    expect(backup.status).toBe(1);
    expect(backup.stderr).toMatch(/^m3w: not yet supported on Postgres: backup \(use pg_dump/);
    expect(m3w('restore', 'copy.db').stderr).toMatch(/^m3w: not yet supported on Postgres: restore/);
  });
});
