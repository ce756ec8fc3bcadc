// The AlertStore contract (store.alerts) on every adapter (test/helpers/stores.ts: SQLite always, Postgres when
// configured): channels, rules and their guarded transitions (state, history row and outbox rows in one go), the
// outbox's claim / complete / requeue cycle, and app deletion taking every alert row with it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { OpenedStore } from '../../src/store/index.ts';
import { adapters, openTestStore, type OpenedTestStore } from '../helpers/stores.ts';

describe.each(adapters())('AlertStore (%s)', (adapter) => {
  let t: OpenedTestStore;
  let store: OpenedStore;
  const T = 1_800_000_000_000;
  beforeAll(async () => {
    t = await openTestStore(adapter);
    store = t.store;
    await store.createApp('a1', 'A1', T);
    await store.createApp('a2', 'A2', T);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const newRule = (appId: string, channelIds: number[]) =>
    store.alerts.createRule({
      appId,
      name: 'r',
      metric: 'playback_failure_pct',
      op: 'above',
      threshold: 5,
      windowMinutes: 5,
      minSessions: 10,
      cooldownMinutes: 30,
      channelIds,
      filter: { dimension: 'country', value: 'DE' },
      enabled: true,
      createdAt: T,
    });

  test('channels and rules round-trip, scoped by app; deleting a channel takes it out of rules', async () => {
    const c1 = await store.alerts.createChannel({
      appId: 'a1',
      name: 'c1',
      type: 'webhook',
      sealed: 'v1:x',
      createdAt: T,
    });
    const c2 = await store.alerts.createChannel({
      appId: 'a1',
      name: 'c2',
      type: 'email',
      sealed: 'v1:y',
      createdAt: T,
    });
    await store.alerts.createChannel({ appId: 'a2', name: 'other', type: 'slack', sealed: 'v1:z', createdAt: T });
    expect((await store.alerts.listChannels('a1')).map((c) => c.name)).toEqual(['c1', 'c2']);
    const r = await newRule('a1', [c1.id, c2.id]);
    expect(r).toMatchObject({
      state: 'ok',
      channelIds: [c1.id, c2.id],
      filter: { dimension: 'country', value: 'DE' },
    });
    expect(await store.alerts.deleteChannel(c1.id)).toBe(true);
    expect((await store.alerts.getRule(r.id))!.channelIds).toEqual([c2.id]);
    const patched = await store.alerts.updateRule(r.id, { threshold: 7, filter: null, enabled: false }, T + 1);
    expect(patched).toMatchObject({ threshold: 7, filter: null, enabled: false, updatedAt: T + 1 });
    expect((await store.alerts.listEnabledRules()).some((x) => x.id === r.id)).toBe(false);
    expect(await store.alerts.listRules('a2')).toEqual([]);
  });

  test('a transition writes state, history and one outbox row per channel; a stale one writes nothing', async () => {
    const c = await store.alerts.createChannel({
      appId: 'a1',
      name: 'tx',
      type: 'webhook',
      sealed: 'v1:x',
      createdAt: T,
    });
    const r = await newRule('a1', [c.id]);
    const fire = (from: 'ok' | 'firing' | 'resolved', to: 'firing' | 'resolved', at: number) =>
      store.alerts.recordTransition({
        ruleId: r.id,
        from,
        to,
        value: 12.5,
        at,
        channelIds: [c.id],
        payload: (e) => JSON.stringify({ event: e.id, state: e.state }),
      });
    const e = await fire('ok', 'firing', T + 60_000);
    expect(e).toMatchObject({ ruleId: r.id, state: 'firing', value: 12.5, threshold: 5, at: T + 60_000 });
    // The rule is no longer ok: a second evaluator's ok → firing is refused whole.
    expect(await fire('ok', 'firing', T + 61_000)).toBeNull();
    expect(await store.alerts.getRule(r.id)).toMatchObject({
      state: 'firing',
      lastFiredAt: T + 60_000,
      stateSince: T + 60_000,
    });
    const history = await store.alerts.listEvents('a1', 10, r.id);
    expect(history).toHaveLength(1);
    expect(history[0]!.notifications).toEqual([
      expect.objectContaining({
        channelId: c.id,
        status: 'pending',
        attempts: 0,
        payload: JSON.stringify({ event: e!.id, state: 'firing' }),
      }),
    ]);
    expect(await store.alerts.listEvents('a2', 10)).toEqual([]);
  });

  test('the outbox: claim marks sending, complete retries or delivers, requeue puts interrupted rows back', async () => {
    const c = await store.alerts.createChannel({
      appId: 'a2',
      name: 'ob',
      type: 'webhook',
      sealed: 'v1:x',
      createdAt: T,
    });
    const now = T + 3_600_000;
    // Earlier tests left rows due; drain them first so this test sees only its own.
    for (const row of await store.alerts.claimDueNotifications(now, 100))
      await store.alerts.completeNotification(row.id, { at: now, ok: true }, null);
    const n = await store.alerts.enqueueNotification({ appId: 'a2', channelId: c.id, payload: '{}', at: now });
    expect(await store.alerts.nextDueAt()).toBe(now);
    const claimed = await store.alerts.claimDueNotifications(now, 10);
    expect(claimed.map((x) => [x.id, x.status])).toEqual([[n.id, 'sending']]);
    expect(await store.alerts.claimDueNotifications(now, 10)).toEqual([]);
    const retry = await store.alerts.completeNotification(
      n.id,
      { at: now, ok: false, status: 500, error: 'x' },
      now + 60_000,
    );
    expect(retry).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: now + 60_000 });
    expect(await store.alerts.claimDueNotifications(now + 59_999, 10)).toEqual([]);
    expect(await store.alerts.claimDueNotifications(now + 60_000, 10)).toHaveLength(1);
    // A crash here: the row stays "sending" until the next start puts it back.
    expect(await store.alerts.requeueInterrupted(now + 70_000)).toBe(1);
    expect(await store.alerts.getNotification(n.id)).toMatchObject({
      status: 'pending',
      nextAttemptAt: now + 60_000,
    });
    await store.alerts.claimDueNotifications(now + 70_000, 10);
    const done = await store.alerts.completeNotification(n.id, { at: now + 70_000, ok: true, status: 200 }, null);
    expect(done).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: now + 70_000 });
    expect(done!.attemptLog.map((a) => a.ok)).toEqual([false, true]);
    // Completing a row that is not being sent changes nothing (a late answer after a requeue).
    expect(await store.alerts.completeNotification(n.id, { at: now, ok: false }, null)).toBeNull();
  });

  test('two evaluators recording the same transition at once: one writes it, the other writes nothing', async () => {
    const c = await store.alerts.createChannel({
      appId: 'a1',
      name: 'race',
      type: 'webhook',
      sealed: 'v1:x',
      createdAt: T,
    });
    const r = await newRule('a1', [c.id]);
    const at = T + 120_000;
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        store.alerts.recordTransition({
          ruleId: r.id,
          from: 'ok',
          to: 'firing',
          value: 9,
          at,
          channelIds: [c.id],
          payload: (e) => JSON.stringify({ event: e.id }),
        }),
      ),
    );
    expect(results.filter((e) => e !== null)).toHaveLength(1);
    const history = await store.alerts.listEvents('a1', 10, r.id);
    expect(history).toHaveLength(1);
    expect(history[0]!.notifications).toHaveLength(1);
    expect(await store.alerts.getRule(r.id)).toMatchObject({ state: 'firing', stateSince: at });
  });

  test('claimers running at once each take different rows, and together take every due row once', async () => {
    const c = await store.alerts.createChannel({
      appId: 'a1',
      name: 'cc',
      type: 'webhook',
      sealed: 'v1:x',
      createdAt: T,
    });
    const now = T + 7_200_000;
    for (const row of await store.alerts.claimDueNotifications(now, 100))
      await store.alerts.completeNotification(row.id, { at: now, ok: true }, null);
    const queued: number[] = [];
    for (let i = 0; i < 24; i++)
      queued.push(
        (await store.alerts.enqueueNotification({ appId: 'a1', channelId: c.id, payload: '{}', at: now })).id,
      );
    const batches = await Promise.all(Array.from({ length: 4 }, () => store.alerts.claimDueNotifications(now, 6)));
    const rest = await store.alerts.claimDueNotifications(now, 100);
    const claimed = [...batches.flat(), ...rest];
    expect(claimed.every((x) => x.status === 'sending')).toBe(true);
    expect(claimed.map((x) => x.id).sort((a, b) => a - b)).toEqual(queued);
    expect(await store.alerts.claimDueNotifications(now, 100)).toEqual([]);
    for (const id of queued) await store.alerts.completeNotification(id, { at: now, ok: true }, null);
  });

  test('deleting an app deletes its channels, rules, history and outbox rows, and nothing of other apps', async () => {
    const before = await store.alerts.listChannels('a1');
    expect(before.length).toBeGreaterThan(0);
    const [c1, c2] = [before[0]!, (await store.alerts.listChannels('a2'))[0]!];
    const keep = await store.alerts.enqueueNotification({ appId: 'a1', channelId: c1.id, payload: '{}', at: T });
    const gone = await store.alerts.enqueueNotification({ appId: 'a2', channelId: c2.id, payload: '{}', at: T });
    expect(await store.deleteApp('a2')).toBe(true);
    expect(await store.alerts.getNotification(gone.id)).toBeNull();
    expect(await store.alerts.getNotification(keep.id)).toMatchObject({ status: 'pending' });
    expect(await store.alerts.listChannels('a2')).toEqual([]);
    expect(await store.alerts.listRules('a2')).toEqual([]);
    expect(await store.alerts.listChannels('a1')).toEqual(before);
  });
});
