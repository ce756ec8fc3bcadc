// kill -9 during webhook load, then restart on the same data directory: every acknowledged event's session is
// there, and the live tracker restored at start-up holds exactly the open sessions the database has (the
// acknowledged opens minus acknowledged closes, plus whatever was in flight and got committed).
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { runCli, spawnServer } from '../helpers/child.ts';
import { makeTempDir } from '../helpers/server.ts';
import { playClosed, playStarted } from './webhook-helpers.ts';

const API_KEY = 'webhook-crash-key-0123456789ABCD';
const ENV = {
  M3W_API_KEY: API_KEY,
  RATE_LIMIT_REQUESTS: '1000000000',
  M3W_SESSION_SYNC_INTERVAL_SECONDS: '1',
  M3W_OPEN_BROWSER: 'false',
};
const WORKERS = 16;

test('kill -9 during webhook load loses no acknowledged event, and the restored live count matches the database', async () => {
  const dir = makeTempDir('m3w-webhook-crash-');
  try {
    const created = runCli(['apikey', 'create', '--name', 'reader', '--scope', 'read', '--json'], {
      cwd: dir,
      env: ENV,
    });
    expect(created.status, created.stderr).toBe(0);
    const readKey = (JSON.parse(created.stdout) as { key: string }).key;

    const server = await spawnServer({ cwd: dir, env: ENV });
    const ackedOpen = new Set<string>();
    const ackedClosed = new Set<string>();
    const inFlight = new Set<string>();
    const unexpected: string[] = [];
    let killed = false;
    const worker = async (w: number) => {
      const mine: string[] = [];
      for (let n = 0; !killed; n++) {
        const now = Date.now();
        const events: Record<string, unknown>[] = [];
        const ids: string[] = [];
        // Each request opens ten sessions and closes up to five this worker opened earlier.
        for (let i = 0; i < 10; i++) {
          const id = `w${w}-n${n}-i${i}`;
          events.push(playStarted(id, now - 1_000, { media: `ch${i % 4}` }));
          ids.push(id);
        }
        const closing = mine.splice(0, 5);
        for (const id of closing) events.push(playClosed(id, now - 60_000, now, { media: 'x' }));
        for (const id of [...ids, ...closing]) inFlight.add(id);
        try {
          const res = await fetch(`${server.url}/api/webhook`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
            body: JSON.stringify(events),
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await res.json()) as { accepted: number; rejected: unknown[] };
          if (res.status !== 200 || body.rejected.length > 0)
            unexpected.push(`HTTP ${res.status} ${JSON.stringify(body)}`);
          for (const id of ids) ackedOpen.add(id);
          for (const id of closing) ackedClosed.add(id);
          mine.push(...ids);
        } catch (err) {
          if (!killed) unexpected.push(`request failed before the kill: ${String(err)}`);
          return;
        }
        for (const id of [...ids, ...closing]) inFlight.delete(id);
      }
    };
    const loops = Array.from({ length: WORKERS }, (_, w) => worker(w));
    // Long enough for a couple of snapshots (every second), and for over 200 acknowledged opens however slowly a
    // loaded machine takes them (within reason).
    const started = Date.now();
    while (Date.now() - started < 2_500 || (ackedOpen.size <= 200 && Date.now() - started < 60_000))
      await new Promise((r) => setTimeout(r, 50));
    killed = true;
    server.proc.kill('SIGKILL');
    await Promise.all(loops);
    expect(unexpected).toEqual([]);
    expect(ackedOpen.size).toBeGreaterThan(200);

    // What the database holds after the crash.
    const file = path.join(dir, 'm3w-data', 'm3w.db');
    const db = new Database(file);
    const rows = new Map(
      (
        db.prepare('SELECT id, closed_at FROM play_sessions').all() as Array<{ id: string; closed_at: number | null }>
      ).map((r) => [r.id, r.closed_at]),
    );
    const openInDb = [...rows.values()].filter((c) => c === null).length;
    const snapshotAt = db.prepare("SELECT value FROM engine_state WHERE key = 'live.snapshot_at'").pluck().get() as
      | number
      | undefined;
    db.close();
    for (const id of ackedOpen) expect(rows.has(id), `acknowledged session ${id}`).toBe(true);
    for (const id of ackedClosed) expect(rows.get(id), `acknowledged close of ${id}`).not.toBeNull();
    expect(snapshotAt, 'a snapshot was taken before the crash').toBeGreaterThan(0);
    const ackedStillOpen = [...ackedOpen].filter((id) => !ackedClosed.has(id)).length;
    expect(openInDb).toBeGreaterThanOrEqual(ackedStillOpen - [...inFlight].filter((id) => ackedOpen.has(id)).length);
    expect(openInDb).toBeLessThanOrEqual(ackedStillOpen + inFlight.size);

    const restarted = await spawnServer({ cwd: dir, env: ENV });
    try {
      const active = (await (
        await fetch(`${restarted.url}/stats/active`, { headers: { 'x-api-key': readKey } })
      ).json()) as { total: number; by_channel: Record<string, number> };
      expect(active.total).toBe(openInDb);
      expect(Object.values(active.by_channel).reduce((a, b) => a + b, 0)).toBe(openInDb);
    } finally {
      restarted.proc.kill('SIGTERM');
      expect(await restarted.exited).toBe(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
