// Proves the durability contract with a real process and a real crash: every session whose POST was answered
// 200 is still there after `kill -9` in the middle of concurrent ingestion and a restart on the same data
// directory — across repeated crashes — and a batch is never torn in half. A clean SIGTERM still exits 0.
// kill -9 keeps the OS page cache, so this passes with synchronous=NORMAL too: durability-settings.test.ts
// checks that each setting really flushes (or not) at every commit.
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { spawnServer, type ServerProcess } from './helpers/child.ts';
import { makeTempDir, recentSdkSession } from './helpers/server.ts';

const API_KEY = 'crash-durability-key-0123456789X'; // 32 visible ASCII characters
const ENV = { M3W_API_KEY: API_KEY, RATE_LIMIT_REQUESTS: '1000000000' };
const WORKERS = 32;
// Kill at a different moment each round so the crash lands at a different point of the group-commit cycle.
const KILL_AFTER_MS = [1000, 1250, 1500];
const MIN_ACKED_PER_ROUND = 50;

interface RoundResult {
  /** sessionIds whose request was answered 200: the server promised these are on disk. */
  acked: string[];
  /** Every sessionId sent, answered or not. */
  sent: Set<string>;
  /** Requests still awaiting an answer when the kill was sent; each must land whole or not at all. */
  inFlightAtKill: string[][];
  /** Anything other than 200 before the kill, or a failure not explained by the kill. */
  unexpected: string[];
}

/** Runs WORKERS loops posting single sessions and small batches until the server is killed with SIGKILL. */
async function ingestThenKill(server: ServerProcess, round: number, killAfterMs: number): Promise<RoundResult> {
  const acked: string[] = [];
  const sent = new Set<string>();
  const unexpected: string[] = [];
  const inFlight = new Map<number, string[]>();
  let killed = false;
  let seq = 0;

  const worker = async (w: number) => {
    while (!killed) {
      const n = ++seq;
      // One in three requests is a single object; the rest are batches of 2 to 8.
      const size = n % 3 === 0 ? 1 : 2 + (n % 7);
      const ids = Array.from({ length: size }, (_, i) => `crash-r${round}-w${w}-n${n}-i${i}`);
      const sessions = ids.map((sessionId) => recentSdkSession(sessionId, n));
      const body = JSON.stringify(size === 1 ? sessions[0] : sessions);
      for (const id of ids) sent.add(id);
      inFlight.set(n, ids);
      try {
        const res = await fetch(`${server.url}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        // The status line is the acknowledgement: a 200 is only sent after the commit.
        if (res.status === 200) acked.push(...ids);
        else unexpected.push(`HTTP ${res.status}: ${await res.text().catch(() => '')}`);
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        // Connection errors are expected once the process is gone, and end this loop; before that they are a bug.
        if (!killed) unexpected.push(`request failed before the kill: ${String((err as Error).cause ?? err)}`);
        return;
      } finally {
        inFlight.delete(n);
      }
    }
  };

  const loops = Array.from({ length: WORKERS }, (_, w) => worker(w));
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  killed = true;
  const inFlightAtKill = [...inFlight.values()];
  server.proc.kill('SIGKILL');
  await Promise.all(loops);
  return { acked, sent, inFlightAtKill, unexpected };
}

/**
 * The sessionIds in the database file, read through a second, read-only connection while the restarted
 * server holds it open (WAL lets readers see every commit). Far faster than one GET per id.
 */
function storedIds(dbFile: string): Set<string> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return new Set(db.prepare('SELECT session_id FROM sessions').pluck().all() as string[]);
  } finally {
    db.close();
  }
}

/** Asks the server for each sessionId over HTTP, as an SDK integration check would; returns those it lacks. */
async function missingOverHttp(url: string, ids: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  let next = 0;
  const reader = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const res = await fetch(`${url}/v1/sessions/${encodeURIComponent(id)}`, { headers: { 'x-api-key': API_KEY } });
      const body = (await res.json()) as { sessionId?: string };
      if (res.status !== 200 || body.sessionId !== id) missing.push(id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
  return missing;
}

function isRunning(p: ServerProcess): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

test('every acknowledged session survives kill -9 mid-ingestion, crash after crash', async () => {
  const dir = makeTempDir('m3w-crash-');
  const dbFile = path.join(dir, 'm3w-data', 'm3w.db'); // the default dataDir, relative to the working directory
  const everAcked = new Set<string>();
  const everSent = new Set<string>();
  let server = await spawnServer({ cwd: dir, env: ENV });
  try {
    for (let round = 0; round < KILL_AFTER_MS.length; round++) {
      const r = await ingestThenKill(server, round, KILL_AFTER_MS[round]!);
      expect(r.unexpected, `round ${round}`).toEqual([]);
      // Without these the round proves nothing: no data acknowledged, or the kill hit an idle server.
      expect(r.acked.length, `round ${round} acknowledged`).toBeGreaterThan(MIN_ACKED_PER_ROUND);
      expect(r.inFlightAtKill.length, `round ${round} requests in flight at the kill`).toBeGreaterThan(0);
      expect(await server.exited).toBe('SIGKILL');
      for (const id of r.acked) everAcked.add(id);
      for (const id of r.sent) everSent.add(id);

      server = await spawnServer({ cwd: dir, env: ENV });
      const stored = storedIds(dbFile);
      const lost = [...everAcked].filter((id) => !stored.has(id));
      expect(
        lost.slice(0, 10),
        `round ${round}: ${lost.length} of ${everAcked.size} acknowledged sessions lost`,
      ).toEqual([]);
      // The last acknowledgements before the kill are the ones most at risk; read them back the way a user would.
      expect(await missingOverHttp(server.url, r.acked.slice(-200)), `round ${round}: not readable over HTTP`).toEqual(
        [],
      );

      // A request is one transaction: after the crash it is either wholly stored or wholly absent.
      const torn = r.inFlightAtKill
        .map((ids) => ({ first: ids[0], absent: ids.filter((id) => !stored.has(id)).length, size: ids.length }))
        .filter((b) => b.absent !== 0 && b.absent !== b.size);
      expect(torn, `round ${round}: requests torn by the crash`).toEqual([]);
    }

    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    // The file itself, after a clean shutdown: intact, holding every acknowledged session and nothing unsent.
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    const stored = storedIds(dbFile);
    expect([...everAcked].filter((id) => !stored.has(id))).toEqual([]);
    expect(
      [...stored].filter((id) => !everSent.has(id)),
      'rows nobody sent',
    ).toEqual([]);
  } finally {
    if (isRunning(server)) {
      server.proc.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, 45_000);
