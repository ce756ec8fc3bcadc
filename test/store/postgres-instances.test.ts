// Several m3w instances on one Postgres schema: three real processes (the bundled m3w, each with its own
// data directory and port) share the schema while webhooks and SDK sessions are spread over all three. Every
// singleton job bucket (the minute job, the stale-session reaper) is claimed by exactly one of them in job_runs,
// the stale reaper closes a play another instance took in, and the stream and QoE rollups equal a brute-force
// count. Then the instance holding the minute claim is killed (kill -9) in the middle of that job — the test holds
// a lock on stream_minutes so the job is caught writing its rows — and at the next minute another instance takes
// the bucket over, redoes it, and the rollups are still exact. The instances hold the same key files (as they must
// on one schema: m3w refuses to start otherwise).
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { recomputeFromRaw } from '../../src/engine/rollup-window.ts';
import { openStore, type OpenedStore, type StreamRollupRow } from '../../src/store/index.ts';
import { spawnServer, type ServerProcess } from '../helpers/child.ts';
import { writeSharedKeys } from '../helpers/instance-keys.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { makeTempDir, sdkSession } from '../helpers/server.ts';
import { dropSchema, testSchemaName } from '../helpers/stores.ts';
import { playClosed, playStarted } from '../engine/webhook-helpers.ts';

const API_KEY = 'pg-instances-key-0123456789abcdef';
const MIN = 60_000;
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const minuteOf = (t: number) => Math.floor(t / MIN) * MIN;

interface JobRun {
  job: string;
  bucket: number;
  claimed_by: string;
  finished_at: number | null;
  attempts: number;
}

const dirs: string[] = [];
const schema = testSchemaName();
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (needs('postgres')) await dropSchema(schema);
});

test.skipIf(!needs('postgres'))(
  'three instances on one schema: each job bucket runs once, kill -9 mid-job is redone elsewhere, rollups exact',
  async () => {
    const env = {
      M3W_API_KEY: API_KEY,
      RATE_LIMIT_REQUESTS: '1000000000',
      DATABASE_URL: TEST_DATABASE_URL,
      M3W_POSTGRES_SCHEMA: schema,
      M3W_SESSION_SYNC_INTERVAL_SECONDS: '5',
      M3W_OPEN_BROWSER: 'false',
      LOG_LEVEL: 'debug', // each finished job run is logged at debug
    };
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
    let store: OpenedStore | null = null;
    const servers: ServerProcess[] = [];
    try {
      const serverDirs = [0, 1, 2].map(() => makeTempDir('m3w-pg-instances-'));
      dirs.push(...serverDirs);
      writeSharedKeys(serverDirs.map((d) => path.join(d, 'm3w-data')));
      const started = Date.now();
      // Started together: the migration lock makes them take turns on the new schema.
      servers.push(...(await Promise.all(serverDirs.map((dir) => spawnServer({ cwd: dir, env, timeoutMs: 30_000 })))));
      const listening = Date.now();
      await db.connect();
      const runs = async (job: string) =>
        (await db.query<JobRun>('SELECT * FROM job_runs WHERE job = $1 ORDER BY bucket', [job])).rows.map((r) => ({
          ...r,
          bucket: Number(r.bucket),
        }));
      const pidOf = (claimedBy: string) => Number(claimedBy.split(':').at(-2));
      const alive = new Set(servers);

      // ---- traffic, spread round robin over the instances that are up ----
      const opens = new Map<string, number>(); // play id → openedAt, acknowledged
      const openIds: string[] = [];
      const sdk: number[] = []; // timestamps of acknowledged SDK sessions
      let seq = 0;
      const pick = () => {
        const up = [...alive];
        return up[seq++ % up.length]!;
      };
      const post = async (server: ServerProcess, route: string, body: unknown) => {
        const res = await fetch(`${server.url}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        expect(res.status, `${route} on :${server.port}: ${text}`).toBe(200);
      };
      const burst = async (round: number) => {
        const now = Date.now();
        const jobs: Array<Promise<void>> = [];
        for (let i = 0; i < 6; i++) {
          const id = `r${round}-p${i}`;
          // Some open late, in a minute that may be rolled up already (the dirty-minute path).
          const openedAt = now - (i % 3 === 0 ? 70_000 : i * 1_000);
          jobs.push(
            post(pick(), '/api/webhook', playStarted(id, openedAt, { media: `ch${i % 3}`, user_id: `u${i}` })).then(
              () => {
                opens.set(id, openedAt);
                openIds.push(id);
              },
            ),
          );
        }
        // Close some of those opened earlier, on another instance than opened them (whichever is next).
        for (const id of openIds.splice(0, 3)) {
          const openedAt = opens.get(id)!;
          jobs.push(post(pick(), '/api/webhook', playClosed(id, openedAt, Math.max(openedAt + 1, now - 500))));
        }
        for (let i = 0; i < 4; i++) {
          const timestamp = now - i * 15_000;
          const sessionId = `s-${round}-${i}`;
          jobs.push(
            post(pick(), '/v1/sessions', sdkSession({ sessionId, timestamp, startupTimeMs: 300 + 100 * i })).then(
              () => {
                sdk.push(timestamp);
              },
            ),
          );
        }
        await Promise.all(jobs);
      };

      // A play 13 h old, taken in by the first instance: past staleSessionHours (12), so whichever instance runs
      // the stale-session reaper closes it, though only the first instance's tracker ever held it.
      const staleOpenedAt = Date.now() - 13 * HOUR;
      await post(servers[0]!, '/api/webhook', playStarted('stale-1', staleOpenedAt, { media: 'old' }));
      for (let round = 0; round < 5; round++) {
        await burst(round);
        await sleep(800);
      }
      await expect
        .poll(async () => (await db.query("SELECT reason FROM play_sessions WHERE id = 'stale-1'")).rows[0]?.reason, {
          timeout: 15_000,
          interval: 250,
        })
        .toBe('stale');

      // ---- kill -9 the instance holding the minute claim, in the middle of its job ----
      // The next minute boundary with room to set the trap before it.
      let boundary = minuteOf(Date.now()) + MIN;
      if (boundary - Date.now() < 10_000) boundary += MIN;
      await sleep(boundary - Date.now() - 6_000);
      const trap = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
      await trap.connect();
      let victim: ServerProcess;
      let victimRun: JobRun;
      try {
        // Writers of stream_minutes wait; readers (the API) do not.
        await trap.query('BEGIN');
        await trap.query('LOCK TABLE stream_minutes IN SHARE ROW EXCLUSIVE MODE');
        expect(Date.now()).toBeLessThan(boundary);
        await burst(10);
        await expect
          .poll(async () => (await runs('minute')).find((r) => r.bucket === boundary), {
            timeout: 20_000,
            interval: 50,
          })
          .toBeTruthy();
        victimRun = (await runs('minute')).find((r) => r.bucket === boundary)!;
        expect(victimRun.finished_at).toBeNull();
        victim = servers.find((s) => s.proc.pid === pidOf(victimRun.claimed_by))!;
        expect(victim, `no instance has pid ${pidOf(victimRun.claimed_by)}`).toBeTruthy();
        // Let it reach the blocked write (the claim is committed before the job starts).
        await sleep(500);
        alive.delete(victim);
        victim.proc.kill('SIGKILL');
        expect(await victim.exited).toBe('SIGKILL');
      } finally {
        await trap.query('ROLLBACK').catch(() => {});
        await trap.end();
      }
      // Nothing of the dead run was written, and its claim stays unfinished.
      expect(
        (await db.query('SELECT count(*)::int AS n FROM stream_minutes WHERE minute = $1', [boundary - MIN])).rows[0]!
          .n,
      ).toBe(0);
      expect((await runs('minute')).find((r) => r.bucket === boundary)!.finished_at).toBeNull();
      // Traffic goes on on the two that are left.
      for (let round = 11; round < 14; round++) {
        await burst(round);
        await sleep(500);
      }

      // At the next minute another instance claims it, takes over the dead one's bucket and redoes it.
      const next = boundary + MIN;
      await expect
        .poll(async () => (await runs('minute')).find((r) => r.bucket === next)?.finished_at ?? null, {
          timeout: next - Date.now() + 20_000,
          interval: 250,
        })
        .not.toBeNull();
      const minuteRuns = await runs('minute');
      const redone = minuteRuns.find((r) => r.bucket === boundary)!;
      expect(redone.finished_at).not.toBeNull();
      expect(redone.attempts).toBe(2);
      expect(redone.claimed_by).not.toBe(victimRun!.claimed_by);
      expect(redone.claimed_by).toBe(minuteRuns.find((r) => r.bucket === next)!.claimed_by);

      // ---- every bucket of every job ran once ----
      // The minute job: one run for each minute from the first start on (the dead one's bucket: two claims, one
      // finished run), all finished.
      const firstMinute = minuteRuns[0]!.bucket;
      expect(firstMinute).toBeGreaterThanOrEqual(minuteOf(started));
      expect(firstMinute).toBeLessThanOrEqual(minuteOf(listening));
      const expected = [];
      for (let t = firstMinute; t <= next; t += MIN) expected.push(t);
      expect(minuteRuns.map((r) => r.bucket)).toEqual(expected);
      for (const r of minuteRuns) {
        expect(r.finished_at, `minute ${r.bucket}`).not.toBeNull();
        expect(r.attempts, `minute ${r.bucket}`).toBe(r.bucket === boundary ? 2 : 1);
      }
      // The stale-session reaper (5 s buckets): at most one row per bucket by its key; each run finished once
      // (the victim was stuck in the minute job, so it held no reaper claim).
      const reaper = await runs('stale-sessions');
      expect(reaper.length).toBeGreaterThan(10);
      for (const r of reaper) {
        expect(r.finished_at, `stale-sessions ${r.bucket}`).not.toBeNull();
        expect(r.attempts).toBe(1);
      }
      // Retention (last run unknown at the first start, so due): run by one instance, once.
      const retention = await runs('retention');
      expect(retention).toHaveLength(1);
      expect(retention[0]!.finished_at).not.toBeNull();
      // The instances' own word (debug log, one line per finished run, naming the buckets it redid), read once the
      // two left are stopped: no bucket of any job was finished twice, and every row was finished by a run that says so.
      for (const s of alive) s.proc.kill('SIGTERM');
      for (const s of alive) expect(await s.exited).toBe(0);
      const finishedLines = servers.flatMap((s) =>
        s
          .output()
          .split('\n')
          .filter((l) => l.includes('"msg":"job run finished"'))
          .map((l) => JSON.parse(l) as { job: string; bucket: number; redone: number[] }),
      );
      const finished = finishedLines.flatMap((l) => [l.bucket, ...l.redone].map((b) => `${l.job}@${b}`));
      expect(finished.length).toBe(new Set(finished).size);
      const allRuns = [
        ...(await runs('minute')),
        ...(await runs('stale-sessions')),
        ...(await runs('retention')),
        ...(await runs('partitions')),
      ];
      expect(allRuns.filter((r) => r.finished_at === null)).toEqual([]);
      expect(new Set(finished)).toEqual(new Set(allRuns.map((r) => `${r.job}@${r.bucket}`)));
      // (Which instance wins a bucket is a race of their timers: often the same one, so no spread is asserted; the
      // victim's claim and its successor's above are two instances at work.)

      // ---- the rollups equal a brute-force count ----
      store = await openStore({
        databasePath: '/nonexistent/m3w.db',
        durability: 'full',
        postgresUrl: TEST_DATABASE_URL,
        postgres: { schema, poolSize: 2 },
      });
      const from = firstMinute - 3 * MIN;
      const to = next;
      const recomputed = await recomputeFromRaw(store, 60_000, from, to);
      const stored: StreamRollupRow[] = (
        await db.query(
          `SELECT app_id AS "appId", dimension, value, minute AS t, sessions_started AS "sessionsStarted",
                  sessions_closed AS "sessionsClosed", total_bytes AS "totalBytes",
                  watch_time_seconds AS "watchTimeSeconds", unique_users AS "uniqueUsers",
                  peak_concurrent AS "peakConcurrent"
             FROM stream_minutes WHERE minute >= $1 AND minute < $2`,
          [from, to],
        )
      ).rows.map((r) => ({ ...r, t: Number(r.t) }) as StreamRollupRow);
      const key = (r: StreamRollupRow) => `${r.appId}|${r.dimension}|${r.value}|${r.t}`;
      const norm = (rows: StreamRollupRow[]) =>
        new Map(
          rows.map((r) => [
            key(r),
            {
              sessionsStarted: Number(r.sessionsStarted),
              sessionsClosed: Number(r.sessionsClosed),
              totalBytes: Number(r.totalBytes),
              watchTimeSeconds: Math.round(Number(r.watchTimeSeconds) * 1000) / 1000,
              uniqueUsers: Number(r.uniqueUsers),
              peakConcurrent: Number(r.peakConcurrent),
            },
          ]),
        );
      const want = norm(recomputed);
      const got = norm(stored);
      expect(want.size).toBeGreaterThan(20);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of want) expect(got.get(k), k).toEqual(v);
      // And the plays started per minute, counted from what the instances acknowledged.
      const startedPerMinute = new Map<number, number>();
      for (const openedAt of [...opens.values(), staleOpenedAt])
        if (openedAt >= from && openedAt < to)
          startedPerMinute.set(minuteOf(openedAt), (startedPerMinute.get(minuteOf(openedAt)) ?? 0) + 1);
      const globalStarted = new Map(
        stored
          .filter((r) => r.dimension === 'global' && r.sessionsStarted > 0)
          .map((r) => [r.t, Number(r.sessionsStarted)]),
      );
      expect(globalStarted).toEqual(startedPerMinute);

      // QoE (written by each instance's ingest): equal to a recomputation from the raw sessions, and the sessions
      // per minute equal to the acknowledged count.
      const qoeFrom = minuteOf(Math.min(...sdk));
      const qoeTo = minuteOf(Math.max(...sdk)) + MIN;
      const qoe = await store.qoeRows(60_000, 'default', 'global', '', qoeFrom, qoeTo);
      const qoeRaw = (await store.recomputeQoeRows(60_000, 'default', qoeFrom, qoeTo)).filter(
        (r) => r.dimension === 'global',
      );
      const byT = (a: { t: number }, b: { t: number }) => a.t - b.t;
      expect(qoe.length).toBeGreaterThan(1);
      expect([...qoe].sort(byT)).toEqual([...qoeRaw].sort(byT));
      const sdkPerMinute = new Map<number, number>();
      for (const t of sdk) sdkPerMinute.set(minuteOf(t), (sdkPerMinute.get(minuteOf(t)) ?? 0) + 1);
      expect(new Map(qoe.map((r) => [r.t, r.sessions]))).toEqual(sdkPerMinute);
    } finally {
      for (const s of servers) s.proc.kill('SIGKILL');
      await store?.close();
      await db.end().catch(() => {});
    }
  },
  200_000,
);
