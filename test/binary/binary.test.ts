// The single-file executable as a self-hoster meets it: copied alone into an empty folder, started with an
// empty environment (no node anywhere), it serves, stores what it is sent, stops cleanly on SIGTERM and finds
// its data again after a restart. Runs only once `npm run build` has produced dist/m3w-linux-x64 (and, for
// the arm64 part, dist/m3w-linux-arm64 plus Debian's qemu-user-static and the aarch64 cross libc).
import { spawnSync } from 'node:child_process';
import { spawnServer } from '../helpers/child.ts';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { ARM64_LIBC, BINARY_ARM64 as ARM64, BINARY_X64 as X64, needs, QEMU } from '../helpers/requirements.ts';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { NODE_VERSION } from '../../build/node-runtime.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
// Skipped on a developer's machine without a build (said out loud); a failure under M3W_REQUIRE_ALL=1 (CI).
// The executable embeds exactly the pinned Node (22 LTS: see build/node-runtime.ts for why not 24).
const nodeV = `node v${NODE_VERSION.replaceAll('.', '\\.')}`;
const canRunX64 = needs('binary-x64');
const canRunArm64 = needs('binary-arm64', 'qemu');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** An empty temp folder holding only a copy of `binary`. */
function aloneInEmptyDir(binary: string): { dir: string; exe: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-binary-'));
  dirs.push(dir);
  const exe = path.join(dir, path.basename(binary));
  copyFileSync(binary, exe);
  return { dir, exe };
}

/** Runs the executable (optionally through `runner`) in `dir` with exactly `env`, as `env -i` would. */
async function serve(command: string[], dir: string, env: Record<string, string>, timeoutMs: number) {
  const server = await spawnServer({ cwd: dir, env, exactEnv: true, command, timeoutMs });
  return {
    url: server.url,
    output: server.output,
    stop: () => {
      server.proc.kill('SIGTERM');
      return server.exited;
    },
  };
}

const SESSION = {
  sessionId: 'a',
  timestamp: 1732000000000,
  sessionStartDateIso: '2024-11-19T07:05:40.000Z',
  sessionDurationMs: 60000,
};

describe.skipIf(!canRunX64)('x64 executable', () => {
  test('prints its version with no environment at all', () => {
    const { dir, exe } = aloneInEmptyDir(X64);
    const r = spawnSync(exe, ['--version'], { cwd: dir, env: {}, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^m3w ${version.replaceAll('.', '\\.')} .*${nodeV},`));
  });

  test('alone in an empty folder: serves, stores a session, stops on SIGTERM, finds it after a restart', async () => {
    const { dir, exe } = aloneInEmptyDir(X64);
    const first = await serve([exe], dir, {}, 20_000);

    const health = await fetch(`${first.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });

    // Piped, the banner keeps the bootstrap key out of the log and says how to make one.
    expect(first.output()).not.toMatch(/m3w_[0-9a-f]{8}_/);
    expect(first.output()).toContain('m3w apikey create');
    const createdKey = spawnSync(exe, ['apikey', 'create', '--name', 'binary test', '--json'], {
      cwd: dir,
      env: {},
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(createdKey.status, createdKey.stderr).toBe(0);
    const key = (JSON.parse(createdKey.stdout) as { key: string }).key;
    const posted = await fetch(`${first.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': key! },
      body: JSON.stringify(SESSION),
    });
    expect(posted.status, await posted.clone().text()).toBe(200);

    // The one-time setup link creates the first admin, who can then sign in.
    const setup = /\/setup#([A-Za-z0-9_-]+)/.exec(first.output());
    expect(setup, `the banner shows the setup link:\n${first.output()}`).not.toBeNull();
    const admin = { email: 'pi@example.com', password: 'raspberry pie 3.14' };
    const created = await fetch(`${first.url}/api/v1/auth/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: setup![1], ...admin }),
    });
    expect(created.status, await created.clone().text()).toBe(201);

    // A backup taken while it runs restores into a fresh folder with the same rows.
    const backupFile = path.join(dir, 'backup.db');
    const backup = spawnSync(exe, ['backup', backupFile], { cwd: dir, env: {}, encoding: 'utf8', timeout: 30_000 });
    expect(backup.status, backup.stderr).toBe(0);
    expect(await first.stop()).toBe(0);
    const restored = aloneInEmptyDir(X64);
    const restore = spawnSync(restored.exe, ['restore', backupFile], {
      cwd: restored.dir,
      env: {},
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(restore.status, restore.stderr).toBe(0);
    const fromBackup = await serve([restored.exe], restored.dir, {}, 20_000);
    const readBack = await fetch(`${fromBackup.url}/v1/sessions/a`, { headers: { 'X-API-Key': key! } });
    expect(await readBack.json()).toMatchObject(SESSION);
    const signIn = await fetch(`${fromBackup.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(signIn.status).toBe(200);
    expect(await fromBackup.stop()).toBe(0);
    rmSync(backupFile);

    // Everything it wrote is in its data folder beside it.
    expect(readdirSync(dir).sort()).toEqual([path.basename(exe), 'm3w-data'].sort());

    const second = await serve([exe], dir, {}, 20_000);
    const got = await fetch(`${second.url}/v1/sessions/a`, { headers: { 'X-API-Key': key! } });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject(SESSION);
    expect(second.output(), 'no new key on a restart').not.toMatch(/m3w_[0-9a-f]{8}_/);
    expect(await second.stop()).toBe(0);
  });

  test('serves the dashboard from inside itself: the page, its hashed files (compressed) and the live feed', async () => {
    const { dir, exe } = aloneInEmptyDir(X64);
    const server = await serve([exe], dir, {}, 20_000);
    try {
      const page = await fetch(`${server.url}/setup`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      const js = /<script type="module" src="(\/assets\/app-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1];
      const css = /<link rel="stylesheet" href="(\/assets\/app-[A-Z0-9]+\.css)">/.exec(html)?.[1];
      expect(js, html).toBeDefined();
      expect(css, html).toBeDefined();
      for (const asset of [js!, css!]) {
        // fetch asks for br and gzip and decodes either; the body must be the real bundle.
        const res = await fetch(`${server.url}${asset}`);
        expect(res.status, asset).toBe(200);
        expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        expect(['br', 'gzip']).toContain(res.headers.get('content-encoding'));
        expect((await res.text()).length).toBeGreaterThan(asset.endsWith('.js') ? 50_000 : 2_000);
      }
      expect((await fetch(`${server.url}/ws/live/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe.skipIf(!canRunArm64)('arm64 executable under qemu', () => {
  // The loader path inside the arm64 binary (/lib/ld-linux-aarch64.so.1) is found under QEMU_LD_PREFIX.
  const env = { QEMU_LD_PREFIX: ARM64_LIBC };

  test('is an aarch64 executable that prints its version', () => {
    const { dir, exe } = aloneInEmptyDir(ARM64);
    const header = readFileSync(exe).subarray(0, 20);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(header.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    const r = spawnSync(QEMU, [exe, '--version'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${nodeV},.*linux-arm64`));
  }, 90_000);

  test('answers /health under emulation', async () => {
    const { dir, exe } = aloneInEmptyDir(ARM64);
    const server = await serve([QEMU, exe], dir, env, 90_000);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });
    expect(await server.stop()).toBe(0);
  }, 120_000);
});
