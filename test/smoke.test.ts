import { afterAll, beforeAll, expect, test } from 'vitest';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

test('stores an SDK session', async () => {
  const res = await postSessions(s.url, sdkSession(), { key: s.apiKey });
  expect(res.status).toBe(200);
  expect(await s.server.store.countSessions()).toBe(1);
});
