// Micro-benchmark of the session writer's transaction alone (no HTTP, no thread hop): sessions/s committed
// in groups of 1000 (10 requests of 100), durability full, on a fresh database. This is where the QoE rollup
// work lands, so it shows that cost without the noise of a load generator sharing the cores.
// Run: node --import tsx test/bench/session-writer-micro.ts
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateSessionBody } from '../../src/ingest/index.ts';
import { SessionWriter } from '../../src/store/sqlite/session-writer.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { pushSessionRow } from '../../src/store/sqlite/session-rows.ts';
import { BodyFactory } from './payloads.ts';

const GROUPS = Number(process.env.GROUPS ?? 60);
const REQUESTS_PER_GROUP = 10;
const SESSIONS_PER_REQUEST = 100;

export async function measureSessionWriter(): Promise<{ sessionsPerSec: number; sessions: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-micro-'));
  try {
    const file = path.join(dir, 'm3w.db');
    const store = await SqliteStore.open({ file, durability: 'full' });
    await store.ensureApp('default', 'Default', Date.now());
    await store.close();
    const writer = new SessionWriter(file, 'full');
    const bodies = new BodyFactory(SESSIONS_PER_REQUEST);
    const groups = Array.from({ length: GROUPS }, () => {
      const values: unknown[] = [];
      const counts: number[] = [];
      for (let r = 0; r < REQUESTS_PER_GROUP; r++) {
        const v = validateSessionBody(JSON.parse(bodies.next()), 1000);
        if (!v.ok) throw new Error(JSON.stringify(v.issues));
        for (const s of v.sessions) pushSessionRow(values, 'default', s, Date.now());
        counts.push(v.sessions.length);
      }
      return { values, counts };
    });
    // Warm-up group, not measured.
    writer.write({ seq: 0, ...groups[0]! });
    const started = performance.now();
    for (let g = 1; g < groups.length; g++) writer.write({ seq: g, ...groups[g]! });
    const seconds = (performance.now() - started) / 1000;
    writer.close();
    const sessions = (groups.length - 1) * REQUESTS_PER_GROUP * SESSIONS_PER_REQUEST;
    return { sessionsPerSec: sessions / seconds, sessions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push((await measureSessionWriter()).sessionsPerSec);
  console.log(
    `session writer: ${runs.map((r) => Math.round(r)).join(', ')} sessions/s (3 runs, groups of ${REQUESTS_PER_GROUP * SESSIONS_PER_REQUEST})`,
  );
}
