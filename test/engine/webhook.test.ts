// POST /api/webhook and GET /stats/active against a real server and a real SQLite file.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { playClosed, playStarted, postWebhook } from './webhook-helpers.ts';

describe('webhook ingestion', () => {
  let s: TestServer;
  let readKey: string;
  const now = Date.now();

  beforeAll(async () => {
    s = await startTestServer({}, undefined, { analyticsSchedules: false });
    readKey = (await createApiKey(s.server.store, { appId: 'default', name: 'reader', scopes: ['read'] })).key;
  });
  afterAll(() => s.close());

  const active = async () =>
    (await (await fetch(`${s.url}/stats/active`, { headers: { 'x-api-key': readKey } })).json()) as Record<
      string,
      unknown
    >;

  test('a batch with bad events stores the good ones and names each bad one', async () => {
    const res = await postWebhook(
      s.url,
      [
        playStarted('good-1', now - 5_000),
        { ...playStarted('bad-type', now), event: 'play_paused' },
        { ...playStarted('x', now), id: undefined },
        playStarted('bad-bytes', now, { bytes: -5 }),
        'not an event',
        playStarted('good-2', now - 4_000, {
          user_agent: 'AppleCoreMedia/1.0.0.21C62 (iPhone; U; CPU OS 17_2 like Mac OS X; en_us)',
        }),
      ],
      s.apiKey,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      accepted: number;
      duplicates: number;
      rejected: Array<{ index: number; error: string }>;
    };
    expect(body.accepted).toBe(2);
    expect(body.duplicates).toBe(0);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    expect(body.rejected[0]!.error).toMatch(/event: unknown event type "play_paused"/);
    expect(body.rejected[1]!.error).toMatch(/^id: is required/);
    expect(body.rejected[2]!.error).toMatch(/^bytes: expected an integer ≥ 0, got -5/);
    expect(body.rejected[3]!.error).toMatch(/expected an event object/);
    // Committed before the answer: the rows are there.
    const stored = await s.server.store.getPlaySession('good-2');
    expect(stored).toMatchObject({
      channel: '7mate',
      server: 'au13.example.com',
      country: 'AU',
      protocol: 'hls',
      device: 'ios',
      closedAt: null,
    });
    expect(JSON.parse(stored!.startEvent!)).toMatchObject({ id: 'good-2', source_id: 'src-1' });
    expect(await s.server.store.getPlaySession('bad-type')).toBeNull();
  });

  test('the same (id, event) twice counts once', async () => {
    const batch = [playStarted('dup-1', now - 3_000), playStarted('dup-1', now - 3_000)];
    const first = (await (await postWebhook(s.url, batch, s.apiKey)).json()) as {
      accepted: number;
      duplicates: number;
    };
    expect(first).toMatchObject({ accepted: 1, duplicates: 1 });
    const again = (await (await postWebhook(s.url, batch, s.apiKey)).json()) as {
      accepted: number;
      duplicates: number;
    };
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    const closed = [playClosed('dup-1', now - 3_000, now - 1_000, { bytes: 5_000 })];
    expect(await (await postWebhook(s.url, closed, s.apiKey)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await (await postWebhook(s.url, closed, s.apiKey)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await s.server.store.getPlaySession('dup-1')).toMatchObject({
      closedAt: now - 1_000,
      closeBytes: 5_000,
      startBytes: 0,
    });
  });

  test('a close before its start, or without one, still yields one closed session', async () => {
    const before = (await active()).total as number;
    await postWebhook(s.url, playClosed('ooo-1', now - 60_000, now - 10_000, { bytes: 9_000 }), s.apiKey);
    let row = await s.server.store.getPlaySession('ooo-1');
    expect(row).toMatchObject({ openedAt: now - 60_000, closedAt: now - 10_000, startBytes: null, closeBytes: 9_000 });
    const late = (await (
      await postWebhook(s.url, playStarted('ooo-1', now - 60_000, { bytes: 100 }), s.apiKey)
    ).json()) as { accepted: number };
    expect(late.accepted).toBe(1);
    row = await s.server.store.getPlaySession('ooo-1');
    expect(row).toMatchObject({ openedAt: now - 60_000, closedAt: now - 10_000, startBytes: 100, closeBytes: 9_000 });
    // Never counted as watching.
    expect((await active()).total).toBe(before);
  });

  test('/stats/active counts open sessions by server, channel, country, protocol and device', async () => {
    type Active = {
      total: number;
      by_channel: Record<string, number>;
      by_country: Record<string, number>;
      by_device: Record<string, number>;
      by_protocol: Record<string, number>;
      by_server: Record<string, number>;
    };
    // What this test adds, whatever earlier tests left open.
    const delta = (after: Record<string, number>, before: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(after)
          .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
          .filter(([, d]) => d !== 0),
      );
    const before = (await active()) as Active;
    await postWebhook(
      s.url,
      [
        playStarted('live-a', now, {
          media: 'news',
          proto: 'dash',
          country: 'de',
          user_agent: 'Roku/DVP-12.5 (12.5.0.4178-C6)',
        }),
        playStarted('live-b', now, { media: 'news', proto: 'hls', country: null, server: 'eu1' }),
      ],
      s.apiKey,
    );
    const a = (await active()) as Active;
    expect(a.total - before.total).toBe(2);
    expect(delta(a.by_channel, before.by_channel)).toEqual({ news: 2 });
    expect(delta(a.by_country, before.by_country)).toEqual({ DE: 1, unknown: 1 });
    expect(delta(a.by_device, before.by_device)).toEqual({ streaming_server: 1, tv: 1 });
    expect(delta(a.by_protocol, before.by_protocol)).toEqual({ hls: 1, dash: 1 });
    expect(delta(a.by_server, before.by_server)).toEqual({ 'au13.example.com': 1, eu1: 1 });
    // Each breakdown adds up to the total.
    for (const by of [a.by_channel, a.by_country, a.by_device, a.by_protocol, a.by_server])
      expect(Object.values(by).reduce((x, y) => x + y, 0)).toBe(a.total);
    expect(s.server.analytics.live.counts()).toEqual(a);
  });

  test('/stats/active needs a reader', async () => {
    expect((await fetch(`${s.url}/stats/active`)).status).toBe(401);
  });

  test('the key may come as ?key=, and it never reaches the log or the metrics', async () => {
    const send = (id: string, key: string, requestId: string) =>
      fetch(`${s.url}/api/webhook?key=${encodeURIComponent(key)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(playStarted(id, now)),
      });
    const okId = `query-key-ok-${now}`;
    const badId = `query-key-bad-${now}`;
    const res = await send('query-key', s.apiKey, okId);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
    const bad = await send('query-key-2', 'wrong-key-123', badId);
    expect(bad.status).toBe(401);
    // This test's own request lines, found by their request ids once the asynchronous log has written them.
    const linesOf = (reqId: string) => s.logs.filter((l) => l.reqId === reqId);
    await expect.poll(() => linesOf(okId).length, { timeout: 5000 }).toBeGreaterThan(0);
    await expect.poll(() => linesOf(badId).length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(linesOf(okId)).toEqual([expect.objectContaining({ route: '/api/webhook', status: 200 })]);
    expect(linesOf(badId)).toEqual([expect.objectContaining({ route: '/api/webhook', status: 401 })]);
    for (const line of [...linesOf(okId), ...linesOf(badId)]) {
      expect(JSON.stringify(line)).not.toContain(s.apiKey);
      expect(JSON.stringify(line)).not.toContain('wrong-key-123');
      expect(JSON.stringify(line)).not.toContain('key=');
    }
    const logged = s.logText();
    expect(logged).not.toContain(s.apiKey);
    expect(logged).not.toContain('wrong-key-123');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('/api/webhook');
    expect(metrics).not.toContain(s.apiKey);
    expect(metrics).not.toContain('wrong-key-123');
  });

  test('only a body that is not JSON, not an event or array, too large, or unauthorised is refused whole', async () => {
    expect((await postWebhook(s.url, null, s.apiKey, { raw: '{"event":' })).status).toBe(400);
    const scalar = await postWebhook(s.url, 42, s.apiKey);
    expect(scalar.status).toBe(400);
    expect(((await scalar.json()) as { error: { message: string } }).error.message).toMatch(
      /expected an event object or an array of events, got 42/,
    );
    const many = Array.from({ length: s.config.maxBatchSize + 1 }, (_, i) => playStarted(`many-${i}`, now));
    expect((await postWebhook(s.url, many, s.apiKey)).status).toBe(413);
    expect((await postWebhook(s.url, playStarted('nokey', now), null)).status).toBe(401);
    expect((await postWebhook(s.url, playStarted('readkey', now), readKey)).status).toBe(403);
    const empty = await postWebhook(s.url, [], s.apiKey);
    expect(await empty.json()).toEqual({ accepted: 0, duplicates: 0, rejected: [] });
  });
});
