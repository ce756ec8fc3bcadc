// SSRF through notification channels: a member may only point a channel at public addresses (loopback, the cloud
// metadata address, the LAN and names that resolve there answer 403), an admin may point one anywhere, and a
// channel not made by an admin is checked again before each delivery.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SecretBox, isPrivateAddress, postNotification } from '../../src/alerts/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startHttpReceiver, type HttpReceiver } from './receivers.ts';

let ts: TestServer;
let admin: string;
let member: string;
let hook: HttpReceiver;

beforeAll(async () => {
  ts = await startTestServer();
  admin = (await setupAdmin(ts)).accessToken;
  member = (await createUser(ts, admin, 'member@example.com', 'member', ['default'])).accessToken;
  hook = await startHttpReceiver();
});
afterAll(async () => {
  await hook?.close();
  await ts?.close();
});

const webhook = (url: string) => ({ appId: 'default', name: 'hook', type: 'webhook', config: { url } });

describe('private notification targets', () => {
  test('addresses inside the network are recognised, public ones are not', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '172.16.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0'])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '[::1]'])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1'])
      expect(isPrivateAddress(ip), ip).toBe(false);
  });

  test('a member cannot point a channel at loopback, link-local or LAN addresses', async () => {
    for (const url of [
      hook.url,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://0x7f000001:22/',
      'http://[::ffff:127.0.0.1]:22/',
      'http://localhost:9/',
    ]) {
      const r = await call(ts, 'POST', '/api/v1/notification-channels', { token: member, body: webhook(url) });
      expect(r.status, url).toBe(403);
      expect(r.json!.error.message).toMatch(/only an admin/);
    }
    const mail = await call(ts, 'POST', '/api/v1/notification-channels', {
      token: member,
      body: {
        appId: 'default',
        name: 'mail',
        type: 'email',
        config: { host: '127.0.0.1', port: 22, security: 'none', from: 'a@example.com', to: ['b@example.com'] },
      },
    });
    expect(mail.status).toBe(403);
    const listed = await call(ts, 'GET', '/api/v1/notification-channels?app=default', { token: member });
    expect(listed.json!.channels).toEqual([]);
    expect(hook.requests).toHaveLength(0);
  });

  test('a member may add a channel at a public address', async () => {
    const r = await call(ts, 'POST', '/api/v1/notification-channels', {
      token: member,
      body: webhook('https://93.184.215.14/hook'),
    });
    expect(r.status).toBe(201);
    await call(ts, 'DELETE', `/api/v1/notification-channels/${r.json!.id}`, { token: member });
  });

  test("an admin's channel may point inside the network and is delivered there", async () => {
    const c = await call(ts, 'POST', '/api/v1/notification-channels', { token: admin, body: webhook(hook.url) });
    expect(c.status).toBe(201);
    const t = await call(ts, 'POST', `/api/v1/notification-channels/${c.json!.id}/test`, { token: member });
    expect(t.json!.notification.status).toBe('delivered');
    expect(hook.requests).toHaveLength(1);
  });

  test("a test message links to the server's own address, whatever Host the caller sent", async () => {
    const c = await call(ts, 'POST', '/api/v1/notification-channels', { token: admin, body: webhook(hook.url) });
    const before = hook.requests.length;
    const u = new URL(ts.url);
    await new Promise<void>((done, fail) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: `/api/v1/notification-channels/${c.json!.id}/test`,
          headers: { host: 'evil.example', authorization: `Bearer ${member}` },
        },
        (res) => res.resume().on('end', done),
      );
      req.on('error', fail).end();
    });
    expect(hook.requests.length).toBe(before + 1);
    const link = JSON.parse(hook.requests[before]!.body).alert.url as string;
    expect(new URL(link).host).toBe(u.host);
  });

  test('one test message per app at a time: a slow receiver cannot be made to hold every delivery slot', async () => {
    const c = await call(ts, 'POST', '/api/v1/notification-channels', { token: admin, body: webhook(hook.url) });
    const held: Array<() => void> = [];
    hook.answer = (_req, res) => held.push(() => res.end('ok'));
    try {
      const first = call(ts, 'POST', `/api/v1/notification-channels/${c.json!.id}/test`, { token: member });
      await expect.poll(() => held.length, { timeout: 15_000 }).toBe(1);
      const second = await call(ts, 'POST', `/api/v1/notification-channels/${c.json!.id}/test`, { token: member });
      expect(second.status).toBe(409);
      expect(second.json!.error.message).toMatch(/still being sent/);
      held.shift()!();
      expect((await first).json!.notification.status).toBe('delivered');
    } finally {
      hook.answer = (_req, res) => res.end('ok');
      for (const release of held) release();
    }
    const third = await call(ts, 'POST', `/api/v1/notification-channels/${c.json!.id}/test`, { token: member });
    expect(third.json!.notification.status).toBe('delivered');
  });

  test('the address is checked when connecting: a name resolving inside the network is refused', async () => {
    const before = hook.requests.length;
    const target = { url: hook.url.replace('127.0.0.1', 'localhost'), headers: {}, body: '{}' };
    const refused = await postNotification(target, { timeoutMs: 5000, maxResponseBytes: 1024, publicOnly: true });
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/resolves to a loopback, private or link-local address/);
    expect(hook.requests.length).toBe(before);
    const allowed = await postNotification(target, { timeoutMs: 5000, maxResponseBytes: 1024 });
    expect(allowed).toEqual({ ok: true, status: 200 });
  });

  test('a channel not made by an admin is refused at delivery when it points inside the network', async () => {
    // As if its name had resolved to a public address when it was made: the settings carry no admin mark.
    const box = SecretBox.forDataDir(ts.dir);
    const channel = await ts.server.store.alerts.createChannel({
      appId: 'default',
      name: 'rebound',
      type: 'webhook',
      sealed: box.seal({ url: hook.url }),
      createdAt: Date.now(),
    });
    const before = hook.requests.length;
    const t = await call(ts, 'POST', `/api/v1/notification-channels/${channel.id}/test`, { token: member });
    expect(t.json!.notification.status).toBe('failed');
    expect(t.json!.notification.attemptLog[0].error).toMatch(/loopback, private or link-local/);
    expect(hook.requests.length).toBe(before);
  });
});
