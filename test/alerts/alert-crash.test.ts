// Notifications survive a crash: an alert fires in a real m3w process while its receivers are down, the
// process is killed with SIGKILL with the notifications pending, and after a restart each is delivered
// exactly once to the receivers, which are up from then on. Needs the bundle (npm run bundle).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/child.ts';
import { makeTempDir, sdkSession } from '../helpers/server.ts';
import { startHttpReceiver } from './receivers.ts';

const API_KEY = 'alert-crash-test-key-0123456789XY';
const ENV = { M3W_API_KEY: API_KEY, RATE_LIMIT_REQUESTS: '1000000000' };
const MIN = 60_000;
const WAIT = { timeout: 30_000, interval: 100 };

async function kill9(server: ServerProcess) {
  server.proc.kill('SIGKILL');
  expect(await server.exited).toBe('SIGKILL');
}

test('notifications pending at kill -9 are delivered exactly once after the restart', async () => {
  const dir = makeTempDir('m3w-alert-crash-');
  // Retries a few seconds apart instead of minutes, so the test waits for the retry, not the clock.
  writeFileSync(
    path.join(dir, 'm3w.config.json'),
    JSON.stringify({ notifications: { retrySeconds: [3, 3, 3], timeoutSeconds: 5 } }),
  );
  const receiver = await startHttpReceiver();
  let up = false;
  const delivered: string[] = [];
  receiver.answer = (req, res) => {
    res.statusCode = up ? 200 : 503;
    if (up) delivered.push(req.path);
    res.end();
  };
  let server = await spawnServer({ cwd: dir, env: ENV });
  try {
    const token = /\/setup#([\w-]+)/.exec(server.output())![1]!;
    const setup = await fetch(`${server.url}/api/v1/auth/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, email: 'admin@example.com', password: 'correct horse battery' }),
    });
    expect(setup.status).toBe(201);
    const auth = { authorization: `Bearer ${((await setup.json()) as { accessToken: string }).accessToken}` };
    const post = async (url: string, p: string, body: unknown) => {
      const r = await fetch(`${url}${p}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status, await r.clone().text()).toBe(201);
      return (await r.json()) as { id: number };
    };
    const channelIds = [];
    for (const name of ['a', 'b'])
      channelIds.push(
        (
          await post(server.url, '/api/v1/notification-channels', {
            name,
            type: 'webhook',
            config: { url: `${receiver.url}/${name}` },
          })
        ).id,
      );
    await post(server.url, '/api/v1/alert-rules', {
      name: 'any sessions',
      metric: 'sessions',
      op: 'above',
      threshold: 0,
      windowMinutes: 10,
      minSessions: 0,
      channelIds,
    });
    // Sessions in the last complete minute: the rule holds at the next evaluation.
    const ts = Math.floor(Date.now() / MIN) * MIN - 30_000;
    const sessions = Array.from({ length: 3 }, (_, i) => sdkSession({ sessionId: `crash-${i}`, timestamp: ts + i }));
    const ingest = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify(sessions),
    });
    expect(ingest.status).toBe(200);
    await kill9(server);

    // The restart's catch-up minute job evaluates the rule: it fires, and both notifications fail (503).
    server = await spawnServer({ cwd: dir, env: ENV });
    await expect.poll(() => receiver.requests.length, WAIT).toBeGreaterThanOrEqual(2);
    await kill9(server);
    const db = path.join(dir, 'm3w-data', 'm3w.db');
    const rows = () => {
      const d = new Database(db, { readonly: true });
      try {
        return d.prepare('SELECT channel_id, status, attempts FROM notification_outbox ORDER BY id').all() as Array<{
          channel_id: number;
          status: string;
          attempts: number;
        }>;
      } finally {
        d.close();
      }
    };
    const pending = rows();
    expect(pending).toHaveLength(2);
    for (const r of pending) expect(['pending', 'sending']).toContain(r.status);
    expect(delivered).toEqual([]);

    // Receivers come up and stay up; the restarted server delivers what was pending, each once.
    up = true;
    server = await spawnServer({ cwd: dir, env: ENV });
    await expect.poll(() => [...delivered].sort(), WAIT).toEqual(['/a', '/b']);
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(rows().map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect([...delivered].sort()).toEqual(['/a', '/b']);
    // The history shows one firing, with the failed attempt before the crash and the delivery after it.
    const d = new Database(db, { readonly: true });
    expect(d.prepare("SELECT count(*) FROM alert_events WHERE state = 'firing'").pluck().get()).toBe(1);
    d.close();
  } finally {
    if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
    await receiver.close();
  }
}, 120_000);
