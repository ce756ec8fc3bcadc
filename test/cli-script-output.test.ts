// `npm run m3w -- … --json` as a script uses it: stdout carries only the command's own JSON (the bundle step
// that runs first reports on stderr), so `JSON.parse(stdout)` works.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { makeTempDir } from './helpers/server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm run --silent m3w -- apikey create --json prints only JSON on stdout', () => {
  const dir = makeTempDir();
  const r = spawnSync('npm', ['run', '--silent', 'm3w', '--', 'apikey', 'create', '--name', 'script', '--json'], {
    cwd: root,
    env: { ...process.env, M3W_DATA_DIR: path.join(dir, 'm3w-data') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(typeof out.key).toBe('string');
  expect(r.stderr).toContain('built dist/');
}, 60_000);
