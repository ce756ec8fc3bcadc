// The durability setting really reaches the connection that commits sessions. A kill -9 keeps the OS page
// cache, so the crash test passes with synchronous=NORMAL or OFF too; what tells them apart is whether each
// commit is flushed to the disk. strace counts the flushes of the WAL file while acknowledged writes are made
// one at a time: `full` flushes at every commit, `normal` leaves it to checkpoints. The file is in WAL mode.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { M3W_BIN, spawnServer } from './helpers/child.ts';
import { needs } from './helpers/requirements.ts';
import { makeTempDir, sdkSession } from './helpers/server.ts';

const KEY = 'durability-settings-key-0123456789';
const WRITES = 30;

/**
 * Start times (epoch s) of the successful flushes of the WAL file in an strace log. strace writes a call on one
 * line, unless something of another thread or a signal (the server's child processes exiting: SIGCHLD) is printed
 * while it runs: then the call is split into `fsync(…) <unfinished ...>` and, later, `<... fsync resumed>) = 0`
 * for the same thread. A slow flush on a loaded machine is split more often, so both forms count.
 */
function walFlushTimes(straceLog: string): number[] {
  const times: number[] = [];
  const pending = new Map<string, { t: number; wal: boolean }>();
  for (const line of straceLog.split('\n')) {
    const call = /^(\d+) +([\d.]+) f(?:data)?sync\(\d+<([^>]*)>(\) = 0| <unfinished \.\.\.>)$/.exec(line);
    if (call) {
      const [, pid, t, file, end] = call;
      const wal = file!.endsWith('m3w.db-wal');
      if (end === ') = 0') {
        if (wal) times.push(Number(t));
      } else pending.set(pid!, { t: Number(t), wal });
      continue;
    }
    const resumed = /^(\d+) +[\d.]+ <\.\.\. f(?:data)?sync resumed>\) = 0$/.exec(line);
    const started = resumed && pending.get(resumed[1]!);
    if (started) {
      pending.delete(resumed[1]!);
      if (started.wal) times.push(started.t);
    }
  }
  return times;
}

/** Serves under strace, makes WRITES sequential acknowledged writes, stops; returns WAL flushes during them. */
async function walFlushesDuringWrites(durability: 'full' | 'normal'): Promise<{ flushes: number; mode: string }> {
  const dir = makeTempDir('m3w-durability-');
  const trace = path.join(dir, 'strace.out');
  try {
    const server = await spawnServer({
      cwd: dir,
      env: { M3W_API_KEY: KEY, M3W_DURABILITY: durability },
      // -y names each file descriptor's path; -ttt stamps each call with epoch seconds.
      command: [
        'strace',
        '--seccomp-bpf',
        '-f',
        '-qq',
        '-y',
        '-ttt',
        '-e',
        'trace=fsync,fdatasync',
        '-o',
        trace,
        process.execPath,
        M3W_BIN,
      ],
    });
    // The server is strace's child. strace killed by the exit hook would leave it running: kill it here.
    const tracer = server.proc.pid!;
    const pid = Number(readFileSync(`/proc/${tracer}/task/${tracer}/children`, 'utf8').trim().split(' ')[0]);
    let from = 0;
    let to = 0;
    try {
      expect(pid).toBeGreaterThan(0);
      from = Date.now() / 1000;
      for (let i = 0; i < WRITES; i++) {
        const res = await fetch(`${server.url}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: JSON.stringify(sdkSession({ sessionId: `d-${i}` })),
        });
        expect(res.status).toBe(200);
      }
      to = Date.now() / 1000;
      process.kill(pid, 'SIGTERM'); // the server itself; strace exits with it
      expect(await server.exited).toBe(0);
    } finally {
      if (pid > 0 && existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    }

    const flushes = walFlushTimes(readFileSync(trace, 'utf8')).filter((t) => t >= from && t <= to).length;
    const db = new Database(path.join(dir, 'm3w-data', 'm3w.db'), { readonly: true, fileMustExist: true });
    try {
      return { flushes, mode: db.pragma('journal_mode', { simple: true }) as string };
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a flush strace splits around another line still counts, once', () => {
  const log = [
    '7 1.000000 fdatasync(26</d/m3w.db-wal>) = 0',
    '7 2.000000 fsync(26</d/m3w.db-wal> <unfinished ...>',
    '3 2.100000 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---',
    '8 2.150000 fsync(18</d/m3w.db> <unfinished ...>',
    '7 2.200000 <... fsync resumed>) = 0',
    '8 2.250000 <... fsync resumed>) = 0',
    '7 3.000000 fsync(26</d/m3w.db-wal> <unfinished ...>',
    '7 3.100000 <... fsync resumed>) = -1 EIO (Input/output error)',
    '9 4.000000 fsync(18</d/m3w.db>) = 0',
  ].join('\n');
  expect(walFlushTimes(log)).toEqual([1, 2]);
});

describe.skipIf(!needs('strace'))('durability setting', () => {
  test('full: every acknowledged commit flushes the WAL (synchronous=FULL, journal_mode=WAL)', async () => {
    const { flushes, mode } = await walFlushesDuringWrites('full');
    expect(mode).toBe('wal');
    // One flush per acknowledged commit, at least (a checkpoint may add some).
    expect(flushes, 'WAL flushes during the writes').toBeGreaterThanOrEqual(WRITES);
  });

  test('normal: commits do not flush the WAL (synchronous=NORMAL, journal_mode=WAL)', async () => {
    const { flushes, mode } = await walFlushesDuringWrites('normal');
    expect(mode).toBe('wal');
    // A checkpoint may flush once or twice; a flush per commit would be FULL.
    expect(flushes, 'WAL flushes during the writes').toBeLessThan(WRITES / 3);
  });
});
