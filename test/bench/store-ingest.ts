// Session ingestion through Store.upsertSessions (no HTTP) on SQLite and on Postgres, in the same run, so the two
// can be compared on the same machine: (1) single-session requests, CONCURRENCY at a time; (2) requests of 1,000
// sessions, four at a time; (3) webhook play events, PLAYS starts then their closes in requests of 100. Bounded:
// SINGLE + BATCHES × 1,000 sessions and 2 × PLAYS events per adapter. SQLite durability `full`;
// Postgres with its defaults (synchronous_commit on), one schema created and dropped for the run. After each run
// the stored count is checked against what was acknowledged, and the QoE rollups against a recomputation.
// Run: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx test/bench/store-ingest.ts
import { rmSync } from 'node:fs';
import path from 'node:path';
import { validateSessionBody, type IngestedSession, type PlayEvent } from '../../src/ingest/index.ts';
import { openStore, type OpenedStore } from '../../src/store/index.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';
import { makeTempDir } from '../helpers/server.ts';
import { BodyFactory } from './payloads.ts';

const SINGLE = Number(process.env.SINGLE ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const BATCHES = Number(process.env.BATCHES ?? 20);
const PLAYS = Number(process.env.PLAYS ?? 2000);
const url = process.env.TEST_DATABASE_URL;
if (!url) throw new Error('TEST_DATABASE_URL is required (e.g. postgres://postgres@127.0.0.1:5432/test)');

function requests(count: number, size: number): IngestedSession[][] {
  const bodies = new BodyFactory(size);
  return Array.from({ length: count }, () => {
    const v = validateSessionBody(JSON.parse(bodies.next()), 1000);
    if (!v.ok) throw new Error('bad payload');
    return v.sessions;
  });
}

/** Sends the requests, `parallel` in flight at a time; returns sessions per second. */
async function drive(store: OpenedStore, reqs: IngestedSession[][], parallel: number): Promise<number> {
  let next = 0;
  let sessions = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < reqs.length) {
        const r = reqs[next++]!;
        await store.upsertSessions('default', r, Date.now());
        sessions += r.length;
      }
    }),
  );
  return sessions / ((performance.now() - started) / 1000);
}

/** Webhook play events: PLAYS starts then PLAYS closes, in requests of 100, four in flight; events per second. */
async function drivePlays(store: OpenedStore): Promise<number> {
  const event = (kind: PlayEvent['event'], i: number): PlayEvent => ({
    event: kind,
    id: `play-${i}`,
    server: 'edge',
    channel: `ch${i % 7}`,
    country: 'DE',
    protocol: 'hls',
    device: 'desktop',
    userId: `u${i}`,
    userName: null,
    address: null,
    userAgent: null,
    openedAt: Date.now() - 60_000,
    closedAt: kind === 'play_closed' ? Date.now() : null,
    bytes: 1000,
    reason: null,
    raw: '{}',
  });
  const requests: PlayEvent[][] = [];
  for (const kind of ['play_started', 'play_closed'] as const)
    for (let r = 0; r < PLAYS / 100; r++)
      requests.push(Array.from({ length: 100 }, (_, k) => event(kind, r * 100 + k)));
  const started = performance.now();
  for (const half of [requests.slice(0, requests.length / 2), requests.slice(requests.length / 2)]) {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < half.length) await store.ingestPlayEvents('default', half[next++]!, Date.now());
      }),
    );
  }
  return (2 * PLAYS) / ((performance.now() - started) / 1000);
}

async function measure(name: string, store: OpenedStore): Promise<void> {
  await store.ensureApp('default', 'Default', Date.now());
  const groups: number[] = [];
  store.onWriteBatch((s) => groups.push(s.requests));
  const single = await drive(store, requests(SINGLE, 1), CONCURRENCY);
  const singleGroups = groups.splice(0).length;
  const batch = await drive(store, requests(BATCHES, 1000), 4);
  const plays = await drivePlays(store);
  const open = (await store.listOpenPlaySessions()).length;
  const stored = await store.countSessions('default');
  const expected = SINGLE + BATCHES * 1000;
  const from = Date.now() - 3 * 86_400_000;
  const rollups = await store.qoeRows(3_600_000, 'default', 'global', '', from, Date.now() + 86_400_000);
  const rolled = rollups.reduce((n, r) => n + r.sessions, 0);
  console.log(
    `${name.padEnd(8)} single-session requests (${CONCURRENCY} in flight): ${Math.round(single)} sessions/s ` +
      `in ${singleGroups} transactions for ${SINGLE} requests; batches of 1,000 (4 in flight): ${Math.round(batch)} sessions/s; ` +
      `stored ${stored}/${expected}${stored === expected ? '' : ' MISMATCH'}, hourly global rollups count ${rolled}; ` +
      `webhook events (requests of 100, 4 in flight): ${Math.round(plays)} events/s, ${open} left open (0 expected)`,
  );
}

const dir = makeTempDir('m3w-store-ingest-');
const schema = testSchemaName();
try {
  const sqlite = await openStore({
    databasePath: path.join(dir, 'm3w.db'),
    durability: 'full',
    postgresUrl: null,
    postgres: { schema: 'public', poolSize: 10 },
  });
  await measure('sqlite', sqlite);
  await sqlite.close();
  const postgres = await openStore({
    databasePath: '',
    durability: 'full',
    postgresUrl: url,
    postgres: { schema, poolSize: 10 },
  });
  await measure('postgres', postgres);
  await postgres.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
}
