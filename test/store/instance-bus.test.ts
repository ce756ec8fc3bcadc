// The messages between instances on one Postgres schema: what one instance publishes reaches the others
// (not itself) in the order sent; a message whose NOTIFY never came arrives by the 2 s poll; and a row that commits
// after a later one (seqs are handed out before commit) is not skipped. SQLite has no bus.
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import type { InstanceBus, InstanceMessage, OpenedStore } from '../../src/store/index.ts';
import { needs, TEST_DATABASE_URL } from '../helpers/requirements.ts';
import { type OpenedTestStore, openTestStore } from '../helpers/stores.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('SQLite: one process, no bus', async () => {
  const t = await openTestStore('sqlite');
  cleanups.push(t.cleanup);
  expect(await t.store.openInstanceBus()).toBeNull();
});

test.skipIf(!needs('postgres'))(
  'Postgres: messages reach the other instances in order, by NOTIFY or by the poll, and late commits are not skipped',
  async () => {
    const t: OpenedTestStore = await openTestStore('postgres');
    cleanups.push(t.cleanup);
    const other: OpenedStore = await t.another();
    cleanups.push(() => other.close());
    const a = (await t.store.openInstanceBus()) as InstanceBus;
    const b = (await other.openInstanceBus()) as InstanceBus;
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    expect(a.instanceId).not.toBe(b.instanceId);
    const heardByA: InstanceMessage[] = [];
    const heardByB: Array<InstanceMessage & { at: number }> = [];
    a.subscribe((m) => heardByA.push(m));
    b.subscribe((m) => heardByB.push({ ...m, at: Date.now() }));
    const texts = () => heardByB.map((m) => (m.payload as { text: string }).text);

    // Through NOTIFY: in the order sent, with their topic, app and sender; never back to the sender.
    const sent = Date.now();
    for (let i = 0; i < 20; i++) a.publish('test', 'app1', { text: `m${i}` });
    await expect.poll(() => heardByB.length, { timeout: 5000, interval: 10 }).toBe(20);
    expect(texts()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(heardByB[0]).toMatchObject({ topic: 'test', appId: 'app1', instance: a.instanceId });
    console.log(`[instance bus] 20 messages A → B through NOTIFY in ${heardByB.at(-1)!.at - sent} ms`);
    expect(heardByA).toEqual([]);

    // No NOTIFY at all (a row written as a publisher whose NOTIFY was lost): the poll brings it within ~2 s.
    const schema = (other as unknown as { location: string }).location.match(/schema (\w+)/)![1]!;
    const db = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
    const late = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path="${schema}"` });
    await db.connect();
    await late.connect();
    cleanups.push(
      () => db.end(),
      () => late.end(),
    );
    const insert = (c: pg.Client, text: string) =>
      c.query(
        "INSERT INTO instance_events (instance, topic, app_id, payload) VALUES ('elsewhere', 'test', 'app1', $1)",
        [JSON.stringify({ text })],
      );
    await insert(db, 'no-notify');
    await expect.poll(() => texts().at(-1), { timeout: 4000, interval: 50 }).toBe('no-notify');

    // A seq taken by a transaction that commits after a later seq was read: asked for again, delivered once.
    await late.query('BEGIN');
    await insert(late, 'committed-late');
    await insert(db, 'committed-first');
    await db.query("SELECT pg_notify($1, 'elsewhere')", [`m3w_events_${schema}`.slice(0, 63)]);
    await expect.poll(() => texts().at(-1), { timeout: 4000, interval: 20 }).toBe('committed-first');
    await late.query('COMMIT');
    await expect.poll(() => texts().at(-1), { timeout: 4000, interval: 50 }).toBe('committed-late');
    await new Promise((r) => setTimeout(r, 2500)); // another poll: nothing twice
    expect(texts().slice(20)).toEqual(['no-notify', 'committed-first', 'committed-late']);
  },
  30_000,
);
