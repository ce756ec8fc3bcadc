// Accounts from the shell and the first-run experience of `m3w serve`: the setup link in the banner,
// `m3w admin create` / `reset-password`, and the browser opened only on a desktop.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { runCli, spawnServer } from './helpers/child.ts';
import { makeTempDir } from './helpers/server.ts';

let dir: string;
beforeEach(() => {
  dir = makeTempDir('m3w-cli-accounts-');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, p: string, body: unknown) =>
  fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A fake `xdg-open` first on PATH that records what it was asked to open. */
function fakeOpener(): { binDir: string; opened: () => string | null } {
  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir);
  const record = path.join(dir, 'opened.txt');
  writeFileSync(path.join(binDir, 'xdg-open'), `#!/bin/sh\necho "$@" > ${record}\n`);
  chmodSync(path.join(binDir, 'xdg-open'), 0o755);
  return { binDir, opened: () => (existsSync(record) ? readFileSync(record, 'utf8').trim() : null) };
}

/** Whether a process started from the fake opener is still running (it may lag its parent's exit). */
function openerRunning(binDir: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join(binDir, 'xdg-open'))) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

test('first start prints a setup link that creates the admin once; a desktop browser opens it', async () => {
  const opener = fakeOpener();
  const server = await spawnServer({ cwd: dir, env: { PATH: `${opener.binDir}:${process.env.PATH}`, DISPLAY: ':0' } });
  try {
    const link = /(http:\/\/\S+\/setup#([A-Za-z0-9_-]+))/.exec(server.output());
    expect(link, server.output()).not.toBeNull();
    await expect.poll(opener.opened, { timeout: 5000 }).toBe(link![1]);
    const token = link![2]!;
    const created = await post(server.url, '/api/v1/auth/setup', {
      token,
      email: 'me@example.com',
      password: 'a long password',
    });
    expect(created.status).toBe(201);
    expect(
      (await post(server.url, '/api/v1/auth/setup', { token, email: 'you@example.com', password: 'a long password' }))
        .status,
    ).toBe(403);
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
  // Once an admin exists there is no setup link, and the browser opens the dashboard itself.
  rmSync(path.join(dir, 'opened.txt'));
  const again = await spawnServer({ cwd: dir, env: { PATH: `${opener.binDir}:${process.env.PATH}`, DISPLAY: ':0' } });
  try {
    expect(again.output()).not.toMatch(/setup#/);
    await expect.poll(opener.opened, { timeout: 5000 }).toBe(`http://127.0.0.1:${again.port}/`);
  } finally {
    again.proc.kill('SIGTERM');
    await again.exited;
  }
});

test('no browser with --no-open, over SSH, or without a desktop', async () => {
  const opener = fakeOpener();
  const PATH = `${opener.binDir}:${process.env.PATH}`;
  for (const [env, args] of [
    [{ PATH, DISPLAY: ':0' }, ['--no-open']],
    [{ PATH, DISPLAY: ':0', SSH_CONNECTION: '10.0.0.2 5000 10.0.0.1 22' }, []],
    [{ PATH }, []],
  ] as Array<[Record<string, string>, string[]]>) {
    const server = await spawnServer({ cwd: dir, env, args });
    server.proc.kill('SIGTERM');
    await server.exited;
    // The opener would have been started before the server could exit; wait until none is still running.
    await expect.poll(() => openerRunning(opener.binDir), { timeout: 5000 }).toBe(false);
    expect(opener.opened(), JSON.stringify(env)).toBeNull();
  }
  // The positive control, observed the same way: on a desktop, the same opener is called.
  const server = await spawnServer({ cwd: dir, env: { PATH, DISPLAY: ':0' } });
  server.proc.kill('SIGTERM');
  await server.exited;
  await expect.poll(() => openerRunning(opener.binDir), { timeout: 5000 }).toBe(false);
  expect(opener.opened()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
});

test('m3w admin create and reset-password', async () => {
  const bad = runCli(['admin', 'create', '--email', 'ops@example.com', '--password', 'short'], { cwd: dir });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/at least 10 characters/);
  expect(runCli(['admin', 'create', '--email', 'ops@example.com'], { cwd: dir }).status).toBe(2);
  expect(runCli(['admin', 'frobnicate'], { cwd: dir }).stderr).toMatch(/create or reset-password/);

  const created = runCli(['admin', 'create', '--email', 'ops@example.com', '--password', 'first password'], {
    cwd: dir,
  });
  expect(created.status, created.stderr).toBe(0);
  const dup = runCli(['admin', 'create', '--email', 'OPS@example.com', '--password', 'first password'], { cwd: dir });
  expect(dup.stderr).toMatch(/already exists/);

  const reset = runCli(['admin', 'reset-password', '--email', 'ops@example.com'], { cwd: dir });
  expect(reset.status, reset.stderr).toBe(0);
  const newPassword = /shown only this once:\s+(\S+)/.exec(reset.stdout)![1]!;
  expect(runCli(['admin', 'reset-password', '--email', 'nobody@example.com'], { cwd: dir }).stderr).toMatch(/no user/);

  const server = await spawnServer({ cwd: dir });
  try {
    expect(server.output()).not.toMatch(/setup#/);
    expect(
      (await post(server.url, '/api/v1/auth/login', { email: 'ops@example.com', password: 'first password' })).status,
    ).toBe(401);
    const ok = await post(server.url, '/api/v1/auth/login', { email: 'ops@example.com', password: newPassword });
    expect(ok.status).toBe(200);
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
});
