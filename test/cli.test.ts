// The m3w command as a person runs it: version and help, one-line config errors, migrate (and its
// refusal of a changed migration), apikey create/list/revoke, a clean SIGTERM shutdown, a busy port.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { runCli, spawnServer } from './helpers/child.ts';
import { makeTempDir, sdkSession } from './helpers/server.ts';

const dbPath = (dir: string) => path.join(dir, 'm3w-data', 'm3w.db');

test('--help lists the commands', () => {
  const dir = makeTempDir();
  const h = runCli(['--help'], { cwd: dir });
  expect(h.status).toBe(0);
  for (const word of [
    'serve',
    'migrate',
    'apikey create',
    'apikey list',
    'apikey revoke',
    'backup',
    'restore',
    'doctor',
    'service install',
    'grafana export',
    '--port',
  ])
    expect(h.stdout).toContain(word);
});

describe('bad input stops with one line that names the problem', () => {
  test.each([
    [
      { PORT: 'eighty' },
      [],
      /^m3w: port \(from environment variable PORT\): expected an integer from 0 to 65535, got "eighty"\n$/,
    ],
    [{}, ['--port', '99999'], /^m3w: port \(from option --port\): .*got 99999\n$/],
    [{}, ['--bogus'], /^m3w: Unknown option '--bogus'/],
    [{}, ['frobnicate'], /^m3w: unknown command "frobnicate"/],
  ])('env %o args %o', (env, args, message) => {
    const r = runCli(args as string[], { cwd: makeTempDir(), env: env as Record<string, string> });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('an unknown key in m3w.config.json', () => {
    const dir = makeTempDir();
    writeFileSync(path.join(dir, 'm3w.config.json'), JSON.stringify({ prot: 8080 }));
    const r = runCli(['migrate'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown key "prot"');
  });
});

describe('migrate', () => {
  test('applies the migrations once, records checksums, and refuses a migration changed after it was applied', () => {
    const dir = makeTempDir();
    const first = runCli(['migrate'], { cwd: dir });
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('applied 0001_init.sql');
    const second = runCli(['migrate'], { cwd: dir });
    expect(second.stdout).toMatch(/0 applied, \d+ already up to date/);

    const db = new Database(dbPath(dir));
    const rows = db.prepare('SELECT version, name, checksum FROM schema_migrations').all() as Array<{
      checksum: string;
    }>;
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    // Equivalent to editing 0001_init.sql after it ran: the recorded and current checksums differ.
    db.prepare("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1").run();
    db.close();
    const refused = runCli(['migrate'], { cwd: dir });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^m3w: migration 0001_init\.sql was changed after it was applied/);
  });
});

describe('apikey', () => {
  test('create (shown once), list (prefixes only), use it, revoke it', async () => {
    const dir = makeTempDir();
    const created = runCli(['apikey', 'create', '--name', 'android app', '--scope', 'ingest,read', '--json'], {
      cwd: dir,
    });
    expect(created.status).toBe(0);
    const key = JSON.parse(created.stdout) as { key: string; prefix: string; app: string; scopes: string[] };
    expect(key).toMatchObject({ app: 'default', scopes: ['ingest', 'read'] });
    expect(key.key.startsWith(`${key.prefix}_`)).toBe(true);

    const spare = JSON.parse(
      runCli(['apikey', 'create', '--name', 'spare', '--app', 'tv-app', '--json'], { cwd: dir }).stdout,
    ) as { key: string; prefix: string };

    const list = runCli(['apikey', 'list'], { cwd: dir });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(key.prefix);
    expect(list.stdout).toContain('tv-app');
    expect(list.stdout).not.toContain(key.key);
    const listed = JSON.parse(runCli(['apikey', 'list', '--json'], { cwd: dir }).stdout) as Array<
      Record<string, unknown>
    >;
    expect(JSON.stringify(listed)).not.toContain(key.key);

    expect(runCli(['apikey', 'revoke', spare.prefix], { cwd: dir }).status).toBe(0);
    expect(runCli(['apikey', 'revoke', spare.prefix], { cwd: dir }).status).toBe(1); // already revoked

    const server = await spawnServer({ cwd: dir });
    try {
      const post = (k: string) =>
        fetch(`${server.url}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': k },
          body: JSON.stringify(sdkSession()),
        });
      expect((await post(key.key)).status).toBe(200);
      expect((await post(spare.key)).status).toBe(401);
      // Keys existed, so no new key was created or printed.
      expect(server.output()).not.toMatch(/shown only this once/);
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });

  test('usage errors', () => {
    const dir = makeTempDir();
    expect(runCli(['apikey', 'create'], { cwd: dir }).stderr).toContain('--name');
    expect(runCli(['apikey', 'create', '--name', 'x', '--scope', 'admin'], { cwd: dir }).stderr).toContain('--scope');
    expect(runCli(['apikey', 'create', '--name', 'x', '--app', 'Bad App'], { cwd: dir }).stderr).toContain('--app');
    expect(runCli(['apikey'], { cwd: dir }).status).toBe(2);
  });
});

describe('serve', () => {
  test('first start, piped, names the way to a key without printing one; SIGTERM finishes writes and exits 0', async () => {
    const dir = makeTempDir();
    const server = await spawnServer({ cwd: dir });
    let key: string | undefined;
    let acknowledged: string[] = [];
    try {
      // stdout is a pipe here, not a terminal: the bootstrap key stays out of it (test/hardening.test.ts).
      expect(server.output()).not.toMatch(/m3w_[0-9a-f]{8}_/);
      expect(server.output()).toContain('m3w apikey create');
      const created = runCli(['apikey', 'create', '--name', 'shutdown test', '--json'], { cwd: dir });
      key = (JSON.parse(created.stdout) as { key: string }).key;
      // Keep 16 writers busy, stop the server once enough writes are acknowledged, with more in flight.
      let stopping = false;
      const acked: string[] = [];
      const inFlight = new Set<string>();
      const failures: string[] = [];
      let seq = 0;
      const writer = async () => {
        for (;;) {
          const id = `shutdown-${seq++}`;
          inFlight.add(id);
          try {
            const res = await fetch(`${server.url}/v1/sessions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-api-key': key! },
              body: JSON.stringify(sdkSession({ sessionId: id })),
            });
            await res.arrayBuffer();
            if (res.status === 200) acked.push(id);
            else failures.push(`${id}: HTTP ${res.status}`);
          } catch (err) {
            // Refused or cut before the server took the request: expected once it stops, a bug before.
            if (!stopping) failures.push(`${id} failed before SIGTERM: ${String((err as Error).cause ?? err)}`);
            return;
          } finally {
            inFlight.delete(id);
          }
        }
      };
      const writers = Array.from({ length: 16 }, writer);
      await expect.poll(() => acked.length, { timeout: 15_000, interval: 5 }).toBeGreaterThanOrEqual(50);
      stopping = true;
      const inFlightAtStop = inFlight.size;
      server.proc.kill('SIGTERM');
      const stoppedAt = Date.now();
      await Promise.all(writers);
      expect(await server.exited).toBe(0);
      // Busy keep-alive connections close once answered, not after the 10 s backstop (what a loaded machine's
      // drain takes may be seconds, the backstop alone would be 10 s or more).
      expect(Date.now() - stoppedAt, 'ms from SIGTERM to exit').toBeLessThan(9_000);
      expect(inFlightAtStop, 'requests in flight at SIGTERM').toBeGreaterThan(0);
      expect(failures).toEqual([]);
      acknowledged = acked;
    } finally {
      server.proc.kill('SIGKILL'); // no-op once it has exited; never leave a server behind a failed assertion
    }
    // Every request the server took was answered: what is stored is exactly what was acknowledged (a
    // request cut off after its commit would be stored without a 200; one dropped before it, neither).
    const db = new Database(dbPath(dir), { readonly: true });
    const stored = db
      .prepare("SELECT session_id FROM sessions WHERE session_id LIKE 'shutdown-%'")
      .pluck()
      .all() as string[];
    db.close();
    expect(acknowledged.length).toBeGreaterThanOrEqual(50);
    expect(new Set(stored)).toEqual(new Set(acknowledged));
    expect(server.output()).toContain('"msg":"stopped"');

    // Second start: the key is not printed again, and the acknowledged data is still there.
    const again = await spawnServer({ cwd: dir });
    try {
      expect(again.output()).not.toContain(key!);
      for (const id of [acknowledged[0]!, acknowledged.at(-1)!]) {
        const res = await fetch(`${again.url}/v1/sessions/${id}`, { headers: { 'x-api-key': key! } });
        expect(res.status).toBe(200);
      }
      again.proc.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    } finally {
      again.proc.kill('SIGKILL');
    }
  });

  test('a port already in use is a clear message', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = runCli(['serve', '--port', String(port), '--host', '127.0.0.1'], { cwd: makeTempDir() });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`m3w: port ${port} on 127.0.0.1 is already in use; choose another with --port or PORT\n`);
    } finally {
      blocker.close();
    }
  });
});
