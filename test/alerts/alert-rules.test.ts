// Alert rules driven by the engine's minute job with an injected clock, notifying real receivers: an HTTP
// server that checks the webhook body and its HMAC, Slack/Discord/ntfy bodies, and a real SMTP server.
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { playStarted, postWebhook } from '../engine/webhook-helpers.ts';
import { sql } from '../helpers/db.ts';
import { postSessions, sdkSession, startTestServer, TEST_STORE, type TestServer } from '../helpers/server.ts';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from './receivers.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const SECRET = 'hmac-secret-for-the-receiver';
const WAIT = { timeout: 15_000, interval: 50 };

let ts: TestServer;
let admin: string;
let hook: HttpReceiver;
let smtp: SmtpReceiver;
let seq = 0;
// Two hours ago, on a whole hour: every minute the test plays is complete and within retention.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
const at = (minute: number) => T0 + minute * MIN;

/** `n` sessions in each minute of [fromMinute, toMinute), `failing` of them with an error. */
async function sessionsIn(fromMinute: number, toMinute: number, n: number, failing: number, extra = {}) {
  const batch = [];
  for (let m = fromMinute; m < toMinute; m++)
    for (let i = 0; i < n; i++)
      batch.push(
        sdkSession({
          sessionId: `al-${++seq}`,
          timestamp: at(m) + 1000 + i,
          errorCount: i < failing ? 1 : 0,
          ...extra,
        }),
      );
  const res = await postSessions(ts.url, batch, { key: ts.apiKey });
  expect(res.status).toBe(200);
}

const api = (method: string, p: string, body?: unknown) => call(ts, method, p, { token: admin, body });
async function channel(type: string, config: Record<string, unknown>, name = type): Promise<number> {
  const r = await api('POST', '/api/v1/notification-channels', { appId: 'default', name, type, config });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json!.id;
}
async function rule(body: Record<string, unknown>) {
  const r = await api('POST', '/api/v1/alert-rules', { appId: 'default', ...body });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json! as { id: number; state: string };
}
const minute = (m: number) => ts.server.analytics.runMinuteJob(at(m));
const hits = (p: string) => hook.requests.filter((r) => r.path === p);

beforeAll(async () => {
  ts = await startTestServer(
    {
      rateLimit: { requests: 1_000_000, windowSec: 60 },
      notifications: { retrySeconds: [1, 1, 1], timeoutSeconds: 2, maxInFlight: 4, maxResponseBytes: 65_536 },
    },
    undefined,
    { analyticsSchedules: false },
  );
  admin = (await setupAdmin(ts)).accessToken;
  hook = await startHttpReceiver();
  smtp = await startSmtpReceiver();
}, 60_000);
afterAll(async () => {
  await ts.close();
  await hook.close();
  await smtp.close();
});

describe('a failure-rate rule over the minute job', () => {
  let ruleId: number;
  let quietId: number;

  beforeAll(async () => {
    const webhook = await channel('webhook', { url: `${hook.url}/webhook`, secret: SECRET });
    const slack = await channel('slack', { url: `${hook.url}/slack/T000/B000/XXXX` });
    const discord = await channel('discord', { url: `${hook.url}/discord/123/token` });
    const ntfy = await channel('ntfy', { url: `${hook.url}/ntfy-topic` });
    ruleId = (
      await rule({
        name: 'CDN failures',
        metric: 'playback_failure_pct',
        op: 'above',
        threshold: 10,
        windowMinutes: 5,
        minSessions: 10,
        cooldownMinutes: 30,
        channelIds: [webhook, slack, discord, ntfy],
      })
    ).id;
    // The same rule on a country that sees three sessions a minute: never enough to judge.
    quietId = (
      await rule({
        name: 'quiet night',
        metric: 'playback_failure_pct',
        threshold: 10,
        windowMinutes: 5,
        minSessions: 20,
        channelIds: [webhook],
        filter: { country: 'NZ' },
      })
    ).id;
  });

  test('a burst of failures fires once, with the documented bodies, signed', async () => {
    await sessionsIn(0, 5, 20, 0);
    await minute(5);
    await sessionsIn(5, 10, 20, 10);
    await sessionsIn(5, 10, 3, 3, { country: 'NZ' });
    await minute(10);
    await expect.poll(() => hits('/webhook').length, WAIT).toBe(1);
    const req = hits('/webhook')[0]!;
    const body = JSON.parse(req.body);
    expect(body).toEqual({
      alert: expect.objectContaining({
        ruleId,
        name: 'CDN failures',
        appId: 'default',
        state: 'firing',
        metric: 'playback_failure_pct',
        threshold: 10,
        windowMinutes: 5,
        at: at(10),
      }),
    });
    // 10 of 20 sessions failed in each of minutes 5..9 (the NZ sessions fail too: 15 of 23 each).
    expect(body.alert.value).toBeCloseTo((100 * 65) / 115, 3);
    expect(body.alert.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/overview\?app=default&range=custom&from=\d+&to=\d+$/);
    expect(req.headers['x-m3w-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`,
    );
    // Slack: text plus Block Kit blocks; Discord: content plus an embed; ntfy: text body, title/priority/click headers.
    await expect.poll(() => hook.requests.length, WAIT).toBe(4);
    const slack = JSON.parse(hook.requests.find((r) => r.path.startsWith('/slack/'))!.body);
    expect(slack.text).toMatch(/^\[FIRING\] CDN failures: Playback failures 56\.52 % \(above 10 % over 5 min\)/);
    expect(slack.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(slack.blocks[1].elements[0].text).toContain('|Open in m3w>');
    const discord = JSON.parse(hook.requests.find((r) => r.path.startsWith('/discord/'))!.body);
    expect(discord.content).toBe('[FIRING] CDN failures');
    expect(discord.embeds[0]).toMatchObject({ title: '[FIRING] CDN failures', color: 0xdc2626 });
    expect(new Date(discord.embeds[0].timestamp).getTime()).toBe(at(10));
    const ntfy = hook.requests.find((r) => r.path === '/ntfy-topic')!;
    expect(ntfy.headers['content-type']).toMatch(/^text\/plain/);
    expect(ntfy.headers).toMatchObject({ title: '[FIRING] CDN failures', priority: 'high', tags: 'rotating_light' });
    expect(ntfy.headers.click).toBe(body.alert.url);
    expect(ntfy.body).toContain('Playback failures 56.52 %');
    // The quiet country had all its sessions fail, but too few to judge.
    const rules = (await api('GET', '/api/v1/alert-rules?app=default')).json!.rules as Array<Record<string, unknown>>;
    expect(rules.find((r) => r.id === ruleId)).toMatchObject({ state: 'firing', lastFiredAt: at(10) });
    expect(rules.find((r) => r.id === quietId)).toMatchObject({ state: 'ok', lastValue: 100 });
  });

  test('still failing: no second notification; recovered: resolves once', async () => {
    await minute(11);
    await sessionsIn(10, 16, 20, 0);
    await minute(12);
    await minute(16);
    await expect.poll(() => hits('/webhook').length, WAIT).toBe(2);
    const resolved = JSON.parse(hits('/webhook')[1]!.body).alert;
    expect(resolved).toMatchObject({ ruleId, state: 'resolved', value: 0, at: at(16) });
    await minute(17);
    expect(hits('/webhook').length).toBe(2);
  });

  test('a new burst inside the cool-down stays quiet; after it, the rule fires again', async () => {
    await sessionsIn(16, 21, 20, 10);
    await minute(21);
    const quiet = (await api('GET', '/api/v1/alert-rules?app=default')).json!.rules.find(
      (r: { id: number }) => r.id === ruleId,
    );
    expect(quiet).toMatchObject({ state: 'resolved', lastEvaluatedAt: at(21) });
    expect(quiet.lastValue).toBeGreaterThan(10);
    await sessionsIn(40, 45, 20, 10);
    await minute(45);
    await expect.poll(() => hits('/webhook').length, WAIT).toBe(3);
    expect(JSON.parse(hits('/webhook')[2]!.body).alert).toMatchObject({ state: 'firing', at: at(45) });
    // The history: fired, resolved, fired; every notification delivered once, with its attempt.
    const history = (await api('GET', `/api/v1/alerts?app=default&rule=${ruleId}`)).json!.alerts;
    expect(history.map((h: { state: string; at: number }) => [h.state, h.at])).toEqual([
      ['firing', at(45)],
      ['resolved', at(16)],
      ['firing', at(10)],
    ]);
    for (const h of history) {
      expect(h.notifications).toHaveLength(4);
      await expect
        .poll(
          async () =>
            (await api('GET', `/api/v1/alerts?app=default&rule=${ruleId}`))
              .json!.alerts.flatMap((x: { notifications: Array<{ status: string }> }) => x.notifications)
              .every((n: { status: string }) => n.status === 'delivered'),
          WAIT,
        )
        .toBe(true);
    }
    const quiet2 = (await api('GET', '/api/v1/alerts?app=default&rule=' + quietId)).json!.alerts;
    expect(quiet2).toEqual([]);
  });
});

describe('other rule kinds', () => {
  test('a moment rule fires with the moment and resolves when it is over', async () => {
    const id = await channel('webhook', { url: `${hook.url}/moments` });
    const r = await rule({ name: 'any moment', metric: 'moment', windowMinutes: 2, channelIds: [id] });
    await minute(50);
    expect(hits('/moments')).toHaveLength(0);
    await ts.server.store.saveMoment({
      id: 0,
      appId: 'default',
      kind: 'spike',
      metric: 'playback_failure_pct',
      dimension: 'global',
      value: '',
      startedAt: at(49),
      endedAt: at(51),
      peakValue: 42,
      baseline: 1,
      zScore: 9,
      threshold: 3,
    });
    await minute(51);
    await expect.poll(() => hits('/moments').length, WAIT).toBe(1);
    expect(JSON.parse(hits('/moments')[0]!.body).alert).toMatchObject({
      ruleId: r.id,
      metric: 'moment',
      state: 'firing',
      value: 42,
    });
    await minute(52);
    await minute(54);
    await expect.poll(() => hits('/moments').length, WAIT).toBe(2);
    expect(JSON.parse(hits('/moments')[1]!.body).alert).toMatchObject({ state: 'resolved', at: at(54) });
  });

  test("a viewers rule watches one channel's concurrent viewers", async () => {
    const id = await channel('webhook', { url: `${hook.url}/viewers` });
    const r = await rule({
      name: 'news audience',
      metric: 'viewers',
      op: 'above',
      threshold: 2,
      windowMinutes: 2,
      channelIds: [id],
      filter: { channel: 'news' },
    });
    // Three viewers on "news" from minute 80, one on another channel.
    const plays = [
      ...['v1', 'v2', 'v3'].map((p) => playStarted(p, at(80) + 5_000, { media: 'news' })),
      playStarted('v4', at(80) + 5_000, { media: 'sport' }),
    ];
    expect((await postWebhook(ts.url, plays, ts.apiKey)).status).toBe(200);
    await minute(80);
    expect(hits('/viewers')).toHaveLength(0);
    await minute(83);
    await expect.poll(() => hits('/viewers').length, WAIT).toBe(1);
    expect(JSON.parse(hits('/viewers')[0]!.body).alert).toMatchObject({
      ruleId: r.id,
      metric: 'viewers',
      state: 'firing',
      value: 3,
      filter: { channel: 'news' },
    });
    expect(JSON.parse(hits('/viewers')[0]!.body).alert.url).toMatch(/\/live\?app=default$/);
  });

  test('bad rules are refused with a message naming the field', async () => {
    const bad = async (body: Record<string, unknown>, field: RegExp) => {
      const r = await api('POST', '/api/v1/alert-rules', { appId: 'default', name: 'x', ...body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json!.error.message).toMatch(field);
    };
    await bad({ metric: 'temperature', threshold: 1 }, /metric/);
    await bad({ metric: 'sessions' }, /threshold/);
    await bad({ metric: 'sessions', threshold: 1, windowMinutes: 0 }, /windowMinutes/);
    await bad({ metric: 'sessions', threshold: 1, op: 'sideways' }, /op/);
    await bad({ metric: 'sessions', threshold: 1, filter: { planet: 'mars' } }, /filter/);
    await bad({ metric: 'sessions', threshold: 1, channelIds: [999_999] }, /channelIds/);
    const ch = await api('POST', '/api/v1/notification-channels', { appId: 'default', name: 'x', type: 'pager' });
    expect(ch.status).toBe(400);
    const url = await api('POST', '/api/v1/notification-channels', {
      appId: 'default',
      name: 'x',
      type: 'webhook',
      config: { url: 'ftp://example.com' },
    });
    expect(url.status).toBe(400);
    expect(url.json!.error.message).toMatch(/config\.url/);
  });

  test('PATCH changes a rule and DELETE removes it', async () => {
    const r = await rule({ name: 'edit me', metric: 'sessions', op: 'below', threshold: 1 });
    const p = await api('PATCH', `/api/v1/alert-rules/${r.id}`, {
      threshold: 3,
      enabled: false,
      filter: { country: 'DE' },
    });
    expect(p.status).toBe(200);
    expect(p.json).toMatchObject({ threshold: 3, enabled: false, filter: { country: 'DE' }, op: 'below' });
    expect((await api('DELETE', `/api/v1/alert-rules/${r.id}`)).status).toBe(204);
    expect((await api('PATCH', `/api/v1/alert-rules/${r.id}`, { threshold: 3 })).status).toBe(404);
  });
});

describe('channels', () => {
  test('secrets are stored sealed and never shown whole', async () => {
    const token = 'xoxb-super-secret-token-path';
    const r = await api('POST', '/api/v1/notification-channels', {
      appId: 'default',
      name: 'sealed-channel-7f3e',
      type: 'webhook',
      config: { url: `https://hooks.example.com/${token}`, secret: 'signing-key-never-shown' },
    });
    expect(r.status).toBe(201);
    expect(r.json!.config).toEqual({ url: 'https://hooks.example.com/…', secret: '••••' });
    const listed = JSON.stringify((await api('GET', '/api/v1/notification-channels?app=default')).json);
    expect(listed).not.toContain(token);
    expect(listed).not.toContain('signing-key-never-shown');
    // The stored row (either adapter): the channel's name is there plainly (the control that the bytes searched
    // are the ones written), its secrets are not.
    const rows = await sql(ts.config, 'SELECT * FROM notification_channels WHERE name = ?', ['sealed-channel-7f3e']);
    expect(rows.length).toBe(1);
    const stored = Object.values(rows[0]!)
      .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)))
      .join('|');
    expect(stored).toContain('sealed-channel-7f3e');
    expect(stored).not.toContain(token);
    expect(stored).not.toContain('signing-key-never-shown');
    // On SQLite, the database file and its WAL together: the channel is in one of them, its secrets in neither.
    if (TEST_STORE === 'sqlite') {
      const bytes = [ts.config.databasePath, `${ts.config.databasePath}-wal`]
        .filter((file) => existsSync(file))
        .map((file) => readFileSync(file).toString('latin1'))
        .join('');
      expect(bytes).toContain('sealed-channel-7f3e');
      expect(bytes).not.toContain(token);
      expect(bytes).not.toContain('signing-key-never-shown');
    }
    expect(readFileSync(path.join(ts.dir, 'alerts.key'), 'utf8').length).toBeGreaterThan(40);
  });

  test('email: a test message reaches a real SMTP server', async () => {
    const id = await channel('email', {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      user: 'alerts',
      password: 'smtp-password',
      from: 'm3w <m3w@example.com>',
      to: ['oncall@example.com'],
    });
    const shown = (await api('GET', '/api/v1/notification-channels?app=default')).json!.channels.find(
      (c: { id: number }) => c.id === id,
    );
    expect(shown.config).toMatchObject({ host: '127.0.0.1', password: '••••', to: ['oncall@example.com'] });
    const r = await api('POST', `/api/v1/notification-channels/${id}/test`);
    expect(r.status).toBe(200);
    expect(r.json!.notification, JSON.stringify(r.json)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(smtp.logins).toEqual([{ user: 'alerts', password: 'smtp-password' }]);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ from: 'm3w@example.com', to: ['oncall@example.com'] });
    expect(smtp.mails[0]!.raw).toMatch(/Subject: \[TEST\] Test notification/);
    expect(smtp.mails[0]!.raw).toContain('this is a test message from m3w');
  });

  test('a receiver answering 500 is retried until it takes the notification', async () => {
    let calls = 0;
    const flaky = await startHttpReceiver();
    flaky.answer = (_req, res) => {
      calls++;
      res.statusCode = calls === 1 ? 500 : 200;
      res.end(calls === 1 ? 'boom' : 'ok');
    };
    try {
      const id = await channel('webhook', { url: `${flaky.url}/flaky` });
      const r = await rule({
        name: 'retried',
        metric: 'sessions',
        op: 'above',
        threshold: 5,
        windowMinutes: 1,
        channelIds: [id],
      });
      await sessionsIn(60, 61, 10, 0);
      await minute(61);
      const delivered = async () =>
        (await api('GET', `/api/v1/alerts?app=default&rule=${r.id}`)).json!.alerts[0]?.notifications[0];
      await expect.poll(async () => (await delivered())?.status, WAIT).toBe('delivered');
      const n = await delivered();
      expect(n.attempts).toBe(2);
      expect(n.attemptLog[0]).toMatchObject({ ok: false, status: 500 });
      // The receiver's own words ("boom") are not repeated to the API's callers.
      expect(n.attemptLog[0].error).toBe('receiver answered 500');
      expect(n.attemptLog[1]).toMatchObject({ ok: true, status: 200 });
      expect(flaky.requests).toHaveLength(2);
    } finally {
      await flaky.close();
    }
  });

  test('a hanging receiver times out, and the minute job runs meanwhile', async () => {
    const hang = await startHttpReceiver();
    hang.answer = () => {}; // never answers
    try {
      const id = await channel('webhook', { url: `${hang.url}/hang` });
      const r = await rule({
        name: 'hung',
        metric: 'sessions',
        op: 'above',
        threshold: 5,
        windowMinutes: 1,
        channelIds: [id],
      });
      await sessionsIn(70, 71, 10, 0);
      await minute(71);
      await expect.poll(() => hang.open(), WAIT).toBe(1);
      // The receiver holds the delivery open; the next minute job is not held up by it.
      await minute(72);
      expect(hang.open()).toBe(1);
      const evaluated = (await api('GET', '/api/v1/alert-rules?app=default')).json!.rules.find(
        (x: { id: number }) => x.id === r.id,
      );
      expect(evaluated.lastEvaluatedAt).toBe(at(72));
      const test = await api('POST', `/api/v1/notification-channels/${id}/test`);
      expect(test.json!.notification).toMatchObject({ status: 'failed', attempts: 1 });
      expect(test.json!.notification.attemptLog[0].error).toBe('no answer within 2 s');
    } finally {
      await hang.close();
    }
  });

  test('at most maxInFlight notifications are sent at once', async () => {
    const slow = await startHttpReceiver();
    let most = 0;
    const waiting: Array<() => void> = [];
    slow.answer = (_req, res) => {
      most = Math.max(most, slow.open());
      waiting.push(() => res.end('ok'));
    };
    try {
      const id = await channel('webhook', { url: `${slow.url}/slow` });
      // Six notifications at once (five queued in the store, one test message that wakes the outbox; an app sends
      // one test at a time); the receiver holds each until the test lets it go.
      const alert = {
        ruleId: 0,
        name: 'queued',
        appId: 'default',
        state: 'firing',
        metric: 'sessions',
        value: 1,
        threshold: 0,
        windowMinutes: 5,
        at: Date.now(),
        url: ts.url,
        op: 'above',
        filter: null,
      };
      const queued = [];
      for (let i = 0; i < 5; i++)
        queued.push(
          await ts.server.store.alerts.enqueueNotification({
            appId: 'default',
            channelId: id,
            payload: JSON.stringify({ alert }),
            at: Date.now(),
          }),
        );
      const sent = [api('POST', `/api/v1/notification-channels/${id}/test`)];
      await expect.poll(() => slow.open(), WAIT).toBe(4);
      while (slow.requests.length < 6) {
        await expect.poll(() => waiting.length, WAIT).toBeGreaterThan(0);
        waiting.shift()!();
      }
      for (const w of waiting.splice(0)) w();
      for (const r of await Promise.all(sent)) expect(r.json!.notification.status).toBe('delivered');
      for (const q of queued)
        await expect
          .poll(async () => (await ts.server.store.alerts.getNotification(q.id))?.status, WAIT)
          .toBe('delivered');
      expect(most).toBe(4);
    } finally {
      await slow.close();
    }
  });

  test('a redirect to another host is refused; one on the same host is followed', async () => {
    const elsewhere = await startHttpReceiver('127.0.0.2');
    const bouncer = await startHttpReceiver();
    bouncer.answer = (req, res) => {
      if (req.path === '/final') return res.end('ok');
      res.statusCode = req.path === '/same' ? 307 : 302;
      res.setHeader('location', req.path === '/same' ? '/final' : `${elsewhere.url}/stolen`);
      res.end();
    };
    try {
      const away = await channel('webhook', { url: `${bouncer.url}/away` });
      const refused = (await api('POST', `/api/v1/notification-channels/${away}/test`)).json!.notification;
      expect(refused).toMatchObject({ status: 'failed', attempts: 1 });
      expect(refused.attemptLog[0]).toMatchObject({ status: 302 });
      expect(refused.attemptLog[0].error).toMatch(/redirect to another host \(127\.0\.0\.2:\d+\) refused/);
      expect(elsewhere.requests).toHaveLength(0);
      const same = await channel('webhook', { url: `${bouncer.url}/same` });
      expect((await api('POST', `/api/v1/notification-channels/${same}/test`)).json!.notification.status).toBe(
        'delivered',
      );
      expect(bouncer.requests.map((r) => r.path)).toEqual(['/away', '/same', '/final']);
      expect(JSON.parse(bouncer.requests[2]!.body)).toMatchObject({ test: true, alert: { name: 'Test notification' } });
    } finally {
      await bouncer.close();
      await elsewhere.close();
    }
  });

  test('an endless answer is read only up to the cap', async () => {
    const firehose = await startHttpReceiver();
    firehose.answer = (_req, res) => {
      const chunk = Buffer.alloc(16_384, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    };
    try {
      const id = await channel('webhook', { url: `${firehose.url}/endless` });
      // Without the cap the read would never end and the attempt would time out instead.
      const n = (await api('POST', `/api/v1/notification-channels/${id}/test`)).json!.notification;
      expect(n).toMatchObject({ status: 'delivered', attempts: 1 });
    } finally {
      await firehose.close();
    }
  });
});
