// An app's rules and channels are bounded: every rule is evaluated each minute, so a member cannot make thousands.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MAX_RULES_PER_APP } from '../../src/http/routes/alert-rules.ts';
import { MAX_CHANNELS_PER_APP } from '../../src/http/routes/notification-channels.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let ts: TestServer;
let member: string;

beforeAll(async () => {
  ts = await startTestServer();
  const admin = (await setupAdmin(ts)).accessToken;
  member = (await createUser(ts, admin, 'member@example.com', 'member', ['default'])).accessToken;
});
afterAll(async () => {
  await ts?.close();
});

const rule = (i: number) => ({ appId: 'default', name: `r${i}`, metric: 'sessions', threshold: 1 });
const channel = (i: number) => ({
  appId: 'default',
  name: `c${i}`,
  type: 'webhook',
  config: { url: 'https://203.0.113.9/hook' },
});

test('an app has at most MAX_RULES_PER_APP rules; deleting one makes room', async () => {
  let last = 0;
  for (let i = 0; i < MAX_RULES_PER_APP; i++) {
    const r = await call(ts, 'POST', '/api/v1/alert-rules', { token: member, body: rule(i) });
    expect(r.status).toBe(201);
    last = r.json!.id;
  }
  const over = await call(ts, 'POST', '/api/v1/alert-rules', { token: member, body: rule(-1) });
  expect(over.status).toBe(403);
  expect(over.json!.error.message).toMatch(/the most an app may have/);
  expect((await call(ts, 'DELETE', `/api/v1/alert-rules/${last}`, { token: member })).status).toBe(204);
  expect((await call(ts, 'POST', '/api/v1/alert-rules', { token: member, body: rule(-2) })).status).toBe(201);
}, 60_000);

test('an app has at most MAX_CHANNELS_PER_APP channels', async () => {
  for (let i = 0; i < MAX_CHANNELS_PER_APP; i++)
    expect((await call(ts, 'POST', '/api/v1/notification-channels', { token: member, body: channel(i) })).status).toBe(
      201,
    );
  const over = await call(ts, 'POST', '/api/v1/notification-channels', { token: member, body: channel(-1) });
  expect(over.status).toBe(403);
  expect(over.json!.error.message).toMatch(/the most an app may have/);
}, 60_000);
