// The ingestion routes' byte budget: at most its limit of request bodies held at once, first come first
// served, a body larger than the whole budget still admitted alone, every exit path releasing its share;
// and through a real server, many large batches at once (some gzipped, some refused) all answered correctly, and
// clients trickling large bodies in never stall anyone else's ingestion.
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IngestBudget } from '../src/http/ingest-budget.ts';
import { sql } from './helpers/db.ts';
import { postSessions, sdkSession, startTestServer, type TestServer } from './helpers/server.ts';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('IngestBudget', () => {
  test('admits up to its limit, then first come first served as shares are released', async () => {
    const budget = new IngestBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    expect(budget.held).toBe(100);
    const c = budget.acquire(30).then((release) => (order.push('c'), release));
    // d is small enough to fit after a's release, but waits its turn behind c.
    const d = budget.acquire(10).then((release) => (order.push('d'), release));
    await settle();
    expect(order).toEqual([]);
    b();
    await settle();
    expect(order).toEqual(['c', 'd']);
    expect(budget.held).toBe(100);
    a();
    (await c)();
    (await d)();
    expect(budget.held).toBe(0);
  });

  test('a body larger than the whole budget waits for the others, then runs alone', async () => {
    const budget = new IngestBudget(100);
    const small = await budget.acquire(10);
    let admitted = false;
    const big = budget.acquire(5_000).then((release) => ((admitted = true), release));
    await settle();
    expect(admitted).toBe(false);
    small();
    const release = await big;
    expect(budget.held).toBe(100);
    release();
    release(); // a second release changes nothing
    expect(budget.held).toBe(0);
  });
});

describe('through the server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ rateLimit: { requests: 10_000, windowSec: 60 } });
  });
  afterAll(() => s.close());

  test('24 batches of 800 sessions at once (~12 MB, three times the budget), gzipped and refused ones among them: each answered right', async () => {
    const run = `budget-${Date.now()}`;
    const batch = (r: number) =>
      Array.from({ length: 800 }, (_, i) =>
        sdkSession({ sessionId: `${run}-${r}-${i}`, contentTitle: 'x'.repeat(300), custom: { r, i } }),
      );
    const requests = Array.from({ length: 24 }, (_, r) => {
      if (r % 8 === 7) return postSessions(s.url, '{"not": "a session"', { key: s.apiKey }); // malformed
      if (r % 4 === 1)
        return postSessions(s.url, gzipSync(JSON.stringify(batch(r))), {
          key: s.apiKey,
          headers: { 'content-encoding': 'gzip' },
        });
      return postSessions(s.url, batch(r), { key: s.apiKey });
    });
    const responses = await Promise.all(requests);
    const statuses = responses.map((res) => res.status);
    const expected = Array.from({ length: 24 }, (_, r) => (r % 8 === 7 ? 400 : 200));
    expect(statuses).toEqual(expected);
    const stored = await sql(s.config, 'SELECT count(*) AS n FROM sessions WHERE session_id LIKE ?', [`${run}-%`]);
    expect(Number(stored[0]!.n)).toBe(21 * 800);
    // Nothing is left holding the budget: one more small post goes straight through.
    const after = await postSessions(s.url, sdkSession({ sessionId: `${run}-after` }), { key: s.apiKey });
    expect(after.status).toBe(200);
  }, 60_000);

  test('ten clients trickling in 1 MB bodies (2.5 times the budget) do not hold up a normal post', async () => {
    const url = new URL(s.url);
    const slow = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect(Number(url.port), url.hostname, () => {
              socket.write(
                `POST /v1/sessions HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
                  `X-API-Key: ${s.apiKey}\r\nContent-Length: 1000000\r\n\r\n[{"sessionId":"slow",`,
              );
              resolve(socket);
            });
            socket.on('error', reject);
          }),
      ),
    );
    try {
      // Positive control for the setup: the slow requests are past authentication and reading their bodies.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      const res = await postSessions(s.url, sdkSession({ sessionId: `budget-fast-${Date.now()}` }), {
        key: s.apiKey,
      });
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      for (const socket of slow) socket.destroy();
    }
  }, 30_000);

  test('a client that hangs up halfway through its body is a 4xx in the metrics and the log, not a 500', async () => {
    const url = new URL(s.url);
    const count = async (status: number) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('http_server_requests_total{') &&
            l.includes('route="/v1/sessions"') &&
            l.includes(`status="${status}"`),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const [before500, before400] = [await count(500), await count(400)];
    for (let i = 0; i < 3; i++)
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(url.port), url.hostname, () => {
          socket.write(
            `POST /v1/sessions HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
              `X-API-Key: ${s.apiKey}\r\nContent-Length: 5000\r\n\r\n[{"sessionId":"gone",`,
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 100);
        });
        socket.on('error', reject);
      });
    // Positive control: the three hung-up requests were counted, as 400s, so no 500 is not for want of a look.
    await expect.poll(() => count(400)).toBe(before400 + 3);
    expect(await count(500)).toBe(before500);
  }, 30_000);
});
