// The singleton-job claim of the Store contract, on every adapter: a claim names its bucket (floor(clock / width))
// and the clock the run uses. SQLite is one process behind the instance lock and grants every claim; an adapter
// shared by several instances (Postgres) grants each (job, bucket) once across every store open on the schema,
// one run of a job at a time, and hands a claim left unfinished past its lease (a dead instance) to the next
// claimer, who redoes it. Dirty rollup minutes a run took stay until it settles them, so a run that dies between
// taking and writing leaves them to the next.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { PlayEvent } from '../../src/ingest/index.ts';
import type { JobClaimRequest, OpenedStore } from '../../src/store/index.ts';
import { adapters, openTestStore, type OpenedTestStore } from '../helpers/stores.ts';

const MIN = 60_000;
const LEASE = 30_000;
const req = (widthMs: number, leaseMs = LEASE): JobClaimRequest => ({ widthMs, leaseMs, now: Date.now() });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until the clock is early in a bucket of `width`, so a test's claims fall in one bucket. */
async function startOfBucket(width: number, room: number): Promise<void> {
  const into = Date.now() % width;
  if (width - into < room) await sleep(width - into + 5);
}

describe.each(adapters())('job claims on %s', (adapter) => {
  let t: OpenedTestStore;
  let store: OpenedStore;
  const others: OpenedStore[] = [];
  beforeEach(async () => {
    t = await openTestStore(adapter);
    store = t.store;
  });
  afterEach(async () => {
    for (const o of others.splice(0)) await o.close();
    await t.cleanup();
  });

  test('a claim names the current bucket and the clock to run with; renew and finish hold', async () => {
    const before = Date.now();
    const claim = await store.claimJobRun('minute', req(MIN));
    expect(claim).not.toBeNull();
    expect(claim!.job).toBe('minute');
    // The database clock on a shared adapter: the same machine here, so close to ours.
    expect(Math.abs(claim!.now - before)).toBeLessThan(5_000);
    expect(claim!.bucket).toBe(Math.floor(claim!.now / MIN) * MIN);
    expect(claim!.redone).toEqual([]);
    expect(await store.renewJobRun(claim!)).toBe(true);
    expect(await store.finishJobRun(claim!)).toBe(true);
    expect(store.sharedByInstances).toBe(adapter === 'postgres');
  });

  test.runIf(adapter === 'sqlite')('SQLite: one process, every claim is granted', async () => {
    await startOfBucket(MIN, 5_000);
    const a = await store.claimJobRun('minute', req(MIN));
    const b = await store.claimJobRun('minute', req(MIN));
    expect(b).toEqual({ ...a, now: b!.now });
    expect(await store.finishJobRun(b!)).toBe(true);
  });

  test.runIf(adapter === 'postgres')(
    'Postgres: each (job, bucket) once across instances, one run of a job at a time',
    async () => {
      const b = await t.another();
      others.push(b);
      await startOfBucket(MIN, 10_000);
      // Claims racing from two instances: exactly one wins the bucket (the advisory lock or the row decides).
      const raced = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? b : store).claimJobRun('minute', req(MIN))),
      );
      const won = raced.filter((c) => c !== null);
      expect(won).toHaveLength(1);
      // Another job is claimed on its own.
      expect(await b.claimJobRun('retention', req(24 * 3_600_000))).not.toBeNull();
      // Finished: the bucket is not run again, by anyone.
      const winner = raced.indexOf(won[0]!) % 2 ? b : store;
      expect(await winner.finishJobRun(won[0]!)).toBe(true);
      expect(await store.claimJobRun('minute', req(MIN))).toBeNull();
      expect(await b.claimJobRun('minute', req(MIN))).toBeNull();

      // A run still within its lease blocks the next bucket's run (a long catch-up is not run twice).
      const first = await store.claimJobRun('sync', req(1_000));
      expect(first).not.toBeNull();
      await sleep(1_050);
      expect(await b.claimJobRun('sync', req(1_000))).toBeNull();
      expect(await store.finishJobRun(first!)).toBe(true);
      expect(await b.claimJobRun('sync', req(1_000))).not.toBeNull();
    },
  );

  test.runIf(adapter === 'postgres')(
    'Postgres: a claim unfinished past its lease is taken over and redone',
    async () => {
      const b = await t.another();
      others.push(b);
      await startOfBucket(MIN, 10_000);
      // The same bucket: instance A claimed and went silent; past the lease B gets it.
      const dead = await store.claimJobRun('minute', req(MIN));
      expect(dead).not.toBeNull();
      await sleep(20);
      expect(await b.claimJobRun('minute', req(MIN, 10_000))).toBeNull(); // within its lease: still A's
      const taken = await b.claimJobRun('minute', req(MIN, 5));
      expect(taken).toMatchObject({ bucket: dead!.bucket, redone: [] });
      expect(await store.renewJobRun(dead!)).toBe(false);
      expect(await store.finishJobRun(dead!)).toBe(false);
      expect(await b.finishJobRun(taken!)).toBe(true);
      expect(await store.claimJobRun('minute', req(MIN, 5))).toBeNull();

      // An earlier bucket: the next bucket's claim takes it over too, and finishing marks both done.
      const left = await store.claimJobRun('tick', req(1_000));
      await sleep(1_050);
      const next = await b.claimJobRun('tick', req(1_000, 5));
      expect(next).not.toBeNull();
      expect(next!.bucket).toBeGreaterThan(left!.bucket);
      expect(next!.redone).toEqual([left!.bucket]);
      expect(await b.finishJobRun(next!)).toBe(true);
      expect(await store.finishJobRun(left!)).toBe(false);
      // Nothing is left to redo.
      await sleep(1_050);
      expect((await store.claimJobRun('tick', req(1_000, 5)))!.redone).toEqual([]);
    },
  );

  test('dirty minutes: a new mark after the take survives the settle; an unsettled take is redone where shared', async () => {
    const T0 = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
    await store.ensureApp('a1', 'App one', T0);
    const late = (id: string, openedAt: number): PlayEvent => ({
      event: 'play_started',
      id,
      server: 'edge-1',
      channel: 'news',
      country: 'DE',
      protocol: 'hls',
      device: 'desktop',
      userId: null,
      userName: null,
      address: null,
      userAgent: null,
      openedAt,
      closedAt: null,
      bytes: 0,
      reason: null,
      raw: '{}',
    });
    await store.ingestPlayEvents('a1', [late('p1', T0 + 2 * MIN)], Date.now());
    expect(await store.takeDirtyStreamMinute(Date.now())).toBe(T0 + 2 * MIN);
    // The run "died" before settling: a shared adapter hands the minute to the next run; SQLite forgot it.
    expect(await store.takeDirtyStreamMinute(Date.now())).toBe(store.sharedByInstances ? T0 + 2 * MIN : null);
    // An event for that same minute while the run goes on: the settle keeps it for the next run.
    await store.ingestPlayEvents('a1', [late('p2', T0 + 2 * MIN + 5_000)], Date.now());
    await store.settleDirtyStreamMinutes();
    expect(await store.takeDirtyStreamMinute(Date.now())).toBe(T0 + 2 * MIN);
    await store.settleDirtyStreamMinutes();
    expect(await store.takeDirtyStreamMinute(Date.now())).toBeNull();
  });
});
