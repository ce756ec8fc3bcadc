// The executable carries every migration in migrations/sqlite — the build copies the folder, it keeps no list
// — and applies them from inside itself on a new database. Runs only once `npm run build` has produced
// dist/m3w-linux-x64.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { BINARY_X64 as X64, needs } from '../helpers/requirements.ts';

const MIGRATIONS = fileURLToPath(new URL('../../migrations/sqlite/', import.meta.url));
// Under M3W_REQUIRE_ALL=1 (CI, which builds the binary) a missing one fails the file instead of skipping it.
const canRun = needs('binary-x64');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!canRun)('`m3w migrate` on a new database applies every file of migrations/sqlite, in order', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-binary-migrate-'));
  dirs.push(dir);
  const exe = path.join(dir, 'm3w');
  copyFileSync(X64, exe);
  const r = spawnSync(exe, ['migrate'], { cwd: dir, env: {}, encoding: 'utf8', timeout: 30_000 });
  expect(r.error).toBeUndefined();
  expect(r.signal, `${r.stdout}\n${r.stderr}`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  const files = readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  expect(files.length).toBeGreaterThan(0);
  const applied = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('applied '))
    .map((l) => l.slice('applied '.length));
  expect(applied).toEqual(files);
});
