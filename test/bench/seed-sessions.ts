// Fills a data directory with many stored sessions quickly, directly through the session writer (its real
// statements, indexes and rollups; no HTTP, no validation per row): the "database already holds N sessions"
// state that single-session and batch ingestion are then measured against.
import path from 'node:path';
import { validateSessionSummary } from '../../src/ingest/session-summary.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { SessionWriter } from '../../src/store/sqlite/session-writer.ts';
import { pushSessionRow, SESSION_OFFSET, SESSION_ROW_WIDTH } from '../../src/store/sqlite/session-rows.ts';
import { BodyFactory } from './payloads.ts';

const GROUP = 5_000;
const SEED_SPAN_MS = 7 * 24 * 3_600_000;

export interface Seeded {
  /** Sessions stored: `total`, or fewer when the time budget ran out first. */
  stored: number;
  seconds: number;
}

/**
 * Stores `total` sessions in `dataDir`/m3w.db, or as many as `budgetSec` allows. The ids are spread evenly over
 * the whole id space (as UUIDs from many phones are) but written in ascending order, so every group appends to the
 * (app_id, session_id) index instead of dirtying a random leaf per row (measured on a loaded 2-core machine: 11,277
 * sessions/s to 3.39 M, against 10,535/s to 3.17 M with random ids; the gap should grow with the count), and the
 * index ends up as large and as spread as random inserts would leave it (with fuller pages).
 */
export async function seedSessions(
  dataDir: string,
  total: number,
  log: (line: string) => void,
  budgetSec = Number.POSITIVE_INFINITY,
): Promise<Seeded> {
  const file = path.join(dataDir, 'm3w.db');
  const store = await SqliteStore.open({ file, durability: 'normal' });
  await store.ensureApp('default', 'Default app', Date.now());
  await store.close();
  // 256 templates (the bench's own bodies, validated once); each stored row is a template with a fresh id.
  const factory = new BodyFactory(1);
  const templates: unknown[][] = [];
  for (let i = 0; i < 256; i++) {
    const v = validateSessionSummary(JSON.parse(factory.next()));
    if (!v.ok) throw new Error(`seed template invalid: ${JSON.stringify(v.issues)}`);
    const row: unknown[] = [];
    pushSessionRow(row, 'default', v.session, Date.now());
    templates.push(row);
  }
  const seedFrom = Date.now() - SEED_SPAN_MS - 3_600_000;
  const writer = new SessionWriter(file, 'normal');
  const began = performance.now();
  let lastLog = began;
  let stored = 0;
  try {
    const values = new Array<unknown>(GROUP * SESSION_ROW_WIDTH);
    for (let done = 0; done < total; ) {
      const n = Math.min(GROUP, total - done);
      values.length = n * SESSION_ROW_WIDTH;
      for (let i = 0; i < n; i++) {
        const t = templates[(done + i) & 255]!;
        const base = i * SESSION_ROW_WIDTH;
        for (let c = 0; c < SESSION_ROW_WIDTH; c++) values[base + c] = t[c];
        const k = done + i;
        // Times spread over the week before now, ascending, as a database that has been receiving sessions for a
        // while holds them: the bench's own sessions (the last 10 minutes) then append to the time index as real
        // ones do, instead of landing beside seeded rows of the very same 256 timestamps.
        const timestamp = seedFrom + Math.floor((k / total) * SEED_SPAN_MS);
        const duration = t[SESSION_OFFSET.session_duration_ms] as number;
        values[base + SESSION_OFFSET.timestamp] = timestamp;
        values[base + SESSION_OFFSET.session_start_ms] = timestamp - duration;
        values[base + SESSION_OFFSET.session_start_date_iso] = new Date(timestamp - duration).toISOString();
        values[base + SESSION_OFFSET.session_id] = `${Math.floor((k / total) * 2 ** 32)
          .toString(16)
          .padStart(8, '0')}-seed-${k.toString(16).padStart(8, '0')}`;
      }
      const r = writer.write({ seq: done, values, counts: [n] });
      if (r.errors[0]) throw new Error(`seeding failed: ${r.errors[0]}`);
      done += n;
      stored = done;
      if ((performance.now() - began) / 1000 > budgetSec) {
        log(`  seeding budget of ${budgetSec} s used up at ${done.toLocaleString('en-US')} sessions`);
        break;
      }
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        log(`  … ${done.toLocaleString('en-US')} sessions stored (${Math.round((lastLog - began) / 1000)} s)`);
      }
    }
  } finally {
    writer.close();
  }
  return { stored, seconds: (performance.now() - began) / 1000 };
}
