// Running m3w as a self-hoster does: one server per data directory, online backup and offline restore,
// doctor, and the systemd unit.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { runCli, runCliAsync, spawnServer } from './helpers/child.ts';
import { checksMoreWith } from './helpers/requirements.ts';
import { makeTempDir, sdkSession } from './helpers/server.ts';

// In CI ffmpeg must be there (checksMoreWith fails without it); elsewhere doctor is checked for whichever case holds.
const HAS_FFMPEG = checksMoreWith('ffmpeg');

const KEY = 'ops-test-key-0123456789abcdef';
const env = { M3W_API_KEY: KEY, RATE_LIMIT_REQUESTS: '1000000' };

function post(url: string, body: unknown): Promise<number> {
  return fetch(`${url}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify(body),
  }).then((r) => r.status);
}

function sessionIds(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT session_id FROM sessions ORDER BY session_id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

test('--version names the version, commit, Node, SQLite and target', () => {
  const r = runCli(['--version'], { cwd: makeTempDir() });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(
    /^m3w \d+\.\d+\.\d+ \(commit \S+, node v\d+\.\d+\.\d+, sqlite 3\.\d+\.\d+, linux-(x64|arm64)/,
  );
});

test('a second server on the same data directory refuses to start', async () => {
  const dir = makeTempDir();
  const first = await spawnServer({ cwd: dir, env });
  try {
    const second = runCli(['serve', '--port', '0', '--host', '127.0.0.1'], { cwd: dir, env });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`^m3w: another m3w \\(pid ${first.proc.pid}\\) is already using .*m3w\\.db`),
    );
    expect(await post(first.url, sdkSession({ sessionId: 'still-fine' }))).toBe(200); // the first is unharmed
  } finally {
    first.proc.kill('SIGTERM');
    await first.exited;
  }
  // Once it has stopped, the data directory is free again.
  const third = await spawnServer({ cwd: dir, env });
  third.proc.kill('SIGTERM');
  expect(await third.exited).toBe(0);
});

describe('backup and restore', () => {
  test('backup while the server ingests; restore into a fresh directory gives the same rows', async () => {
    const dir = makeTempDir();
    const server = await spawnServer({ cwd: dir, env });
    const backupFile = path.join(makeTempDir(), 'm3w-backup.db');
    try {
      for (let i = 0; i < 20; i++) expect(await post(server.url, sdkSession({ sessionId: `before-${i}` }))).toBe(200);
      // Keep writing, one request at a time, for as long as the backup command runs (asynchronously: a
      // blocking spawn would stop these writes). Writes are sequential, so a consistent snapshot holds
      // during-0 … during-(k-1) for some k and nothing after a gap.
      let writing = true;
      let acked = 0;
      const statuses: number[] = [];
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const status = await post(server.url, sdkSession({ sessionId: `during-${i}` }));
          statuses.push(status);
          if (status === 200) acked++;
        }
      })();
      // Let the writer get going, so the copy starts with writes already flowing.
      await expect.poll(() => acked, { timeout: 10_000, interval: 5 }).toBeGreaterThanOrEqual(5);
      const ackedAtStart = acked;
      const r = await runCliAsync(['backup', backupFile], { cwd: dir, env });
      const ackedAtEnd = acked;
      writing = false;
      await writer;
      expect(statuses.filter((st) => st !== 200)).toEqual([]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Backed up .* to .*m3w-backup\.db \(\d+ sessions\)/);
      // Without writes acknowledged while the backup ran, this test would prove nothing about "online".
      expect(ackedAtEnd - ackedAtStart, 'writes acknowledged while the backup ran').toBeGreaterThanOrEqual(10);

      const ids = new Set(sessionIds(backupFile));
      const during = [...ids].filter((id) => id.startsWith('during-')).map((id) => Number(id.slice(7)));
      const k = during.length;
      // A prefix: every index below k is present (no write lost from the middle, none from after the snapshot).
      expect(Math.max(-1, ...during)).toBe(k - 1);
      // Everything acknowledged before the backup began is in it; nothing sent after it ended is.
      expect(k).toBeGreaterThanOrEqual(ackedAtStart);
      expect(k).toBeLessThanOrEqual(ackedAtEnd + 1);
      // Sessions and their rollups are written in one transaction: the copy holds both or neither.
      const copy = new Database(backupFile, { readonly: true });
      try {
        const rolledUp = copy
          .prepare("SELECT coalesce(sum(sessions), 0) FROM qoe_minutes WHERE dimension = 'global'")
          .pluck()
          .get();
        expect(rolledUp).toBe(ids.size);
      } finally {
        copy.close();
      }

      const restoreWhileRunning = runCli(['restore', backupFile], { cwd: dir, env });
      expect(restoreWhileRunning.status).toBe(1);
      expect(restoreWhileRunning.stderr).toMatch(/is running on .*; stop it before restoring/);
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
    const backedUp = sessionIds(backupFile);
    expect(backedUp.filter((id) => id.startsWith('before-'))).toHaveLength(20);
    const db = new Database(backupFile, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const fresh = makeTempDir();
    const restored = runCli(['restore', backupFile], { cwd: fresh, env });
    expect(restored.status).toBe(0);
    expect(sessionIds(path.join(fresh, 'm3w-data', 'm3w.db'))).toEqual(backedUp);
    // The restored database serves: the backed-up sessions are readable through the API.
    const server2 = await spawnServer({ cwd: fresh, env });
    try {
      const res = await fetch(`${server2.url}/v1/sessions/before-7`, { headers: { 'x-api-key': KEY } });
      expect(res.status).toBe(200);
    } finally {
      server2.proc.kill('SIGTERM');
      await server2.exited;
    }
  });

  test('restore refuses a file that is not an m3w backup, and leaves the database alone', async () => {
    const dir = makeTempDir();
    expect(runCli(['migrate'], { cwd: dir }).status).toBe(0);
    const junk = path.join(dir, 'junk.db');
    execFileSync('sh', ['-c', `echo 'not a database' > ${junk}`]);
    const r = runCli(['restore', junk], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^m3w: .*junk\.db (is not a SQLite database|cannot be read as an m3w backup)/);
    const other = new Database(path.join(dir, 'other.db'));
    other.exec('CREATE TABLE t (x)');
    other.close();
    expect(runCli(['restore', path.join(dir, 'other.db')], { cwd: dir }).stderr).toContain('not an m3w backup');
    expect(runCli(['doctor'], { cwd: dir }).stdout).toContain('passes the integrity check');
  });
});

describe('doctor', () => {
  test('passes on a fresh directory, naming each check', () => {
    const r = runCli(['doctor', '--port', '0'], { cwd: makeTempDir() });
    expect(r.stdout).toMatch(/^ok +data directory .* is writable$/m);
    expect(r.stdout).toMatch(/GB free/);
    expect(r.stdout).toMatch(/^ok +port 0 on 0\.0\.0\.0 is free$/m);
    // With ffmpeg on the machine (always in CI) doctor must find it; without, it only warns.
    expect(r.stdout).toMatch(HAS_FFMPEG ? /^ok +ffmpeg \S+ at \/\S+ \(/m : /^warn +ffmpeg not found/m);
    expect(r.stdout).toMatch(/^ok +clock reads /m);
    expect(r.status).toBe(0);
  });

  test('fails on a read-only data directory', () => {
    const dir = makeTempDir();
    const data = path.join(dir, 'm3w-data');
    mkdirSync(data);
    // Root ignores file modes; the immutable attribute stops even root from creating files.
    execFileSync('chattr', ['+i', data]);
    try {
      const r = runCli(['doctor', '--port', '0'], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^FAIL {2}data directory .*m3w-data is not writable: EPERM$/m);
      expect(r.stdout).toContain('1 problem found.');
    } finally {
      execFileSync('chattr', ['-i', data]);
    }
  });

  test('fails when the port is taken by something else', async () => {
    const net = await import('node:net');
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    try {
      const r = runCli(['doctor', '--port', String(port), '--host', '127.0.0.1'], { cwd: makeTempDir() });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`FAIL  port ${port} on 127.0.0.1 is not available: EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });
});

test('service install --dry-run prints a hardened systemd unit and changes nothing', () => {
  const r = runCli(['service', 'install', '--dry-run', '--user', 'm3w', '--data-dir', '/var/lib/m3w'], {
    cwd: makeTempDir(),
  });
  expect(r.status).toBe(0);
  for (const line of [
    'User=m3w',
    'NoNewPrivileges=true',
    'ProtectSystem=strict',
    'ProtectHome=true',
    'ReadWritePaths=/var/lib/m3w',
    'Restart=always',
    'WantedBy=multi-user.target',
  ])
    expect(r.stdout.split('\n')).toContain(line);
  expect(r.stdout).toMatch(/^ExecStart=\S+ .*serve --data-dir \/var\/lib\/m3w --no-open$/m);
  expect(runCli(['service', 'install', '--dry-run', '--user', 'Bad User'], { cwd: makeTempDir() }).status).toBe(2);
});
