// `m3w apikey create --origin URL` (repeatable): the key's browser origins from the command line, normalised, shown
// in `apikey list`, refused with a one-line usage error when one is not an origin; and the migration that added
// them carries keys made before it forward with an empty list.
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { readMigrations } from '../src/store/sqlite/migrate.ts';
import { runCli } from './helpers/child.ts';
import { makeTempDir } from './helpers/server.ts';

test('apikey create --origin, twice: both stored, normalised, listed', () => {
  const dir = makeTempDir();
  const created = runCli(
    [
      'apikey',
      'create',
      '--name',
      'shop',
      '--origin',
      'https://Shop.example.com/',
      '--origin',
      'http://127.0.0.1:5173',
      '--json',
    ],
    { cwd: dir },
  );
  expect(created.status, created.stderr).toBe(0);
  const key = JSON.parse(created.stdout) as { prefix: string; allowedOrigins: string[] };
  expect(key.allowedOrigins).toEqual(['https://shop.example.com', 'http://127.0.0.1:5173']);
  const list = runCli(['apikey', 'list'], { cwd: dir });
  expect(list.stdout).toContain('https://shop.example.com,http://127.0.0.1:5173');
  const plain = runCli(['apikey', 'create', '--name', 'android'], { cwd: dir });
  expect(plain.status).toBe(0);
  const listed = JSON.parse(runCli(['apikey', 'list', '--json'], { cwd: dir }).stdout) as Array<{
    name: string;
    allowedOrigins: string[];
  }>;
  expect(listed.find((k) => k.name === 'android')!.allowedOrigins).toEqual([]);
});

test('apikey create --origin with a path is a usage error naming it; no key is made', () => {
  const dir = makeTempDir();
  const r = runCli(['apikey', 'create', '--name', 'shop', '--origin', 'https://shop.example.com/cart'], { cwd: dir });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^m3w: --origin: "https:\/\/shop\.example\.com\/cart" is not an origin/);
  const list = JSON.parse(runCli(['apikey', 'list', '--json'], { cwd: dir }).stdout) as Array<{ name: string }>;
  expect(list.some((k) => k.name === 'shop')).toBe(false);
});

test('migration 0008 carries existing keys forward with no browser origin allowed', () => {
  const db = new Database(path.join(makeTempDir(), 'old.db'));
  const all = readMigrations();
  for (const m of all.filter((m) => m.version < 8)) db.exec(m.sql);
  db.prepare("INSERT INTO apps (id, name, created_at) VALUES ('default', 'Default app', 1)").run();
  db.prepare(
    "INSERT INTO api_keys (app_id, name, prefix, key_hash, scopes, created_at) VALUES ('default', 'old', 'm3w_00000001', 'h', 'ingest', 1)",
  ).run();
  db.exec(all.find((m) => m.version === 8)!.sql);
  expect(db.prepare('SELECT allowed_origins FROM api_keys').get()).toEqual({ allowed_origins: '[]' });
  db.close();
});
