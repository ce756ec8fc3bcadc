// The hub's delivery rules with topics defined by the test (the data is the test's, everything else is real:
// an h3 app, a Node server, crossws, real WebSocket clients): latest-state-wins for a consumer that stops
// reading, dead peers terminated, and the legacy Telemetra stream API.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineWebSocketHandler, H3, toNodeHandler } from 'h3';
import { afterEach, describe, expect, test } from 'vitest';
import { attachWebSockets, createLiveHub, type LiveHub, type LiveHubOptions } from '../../src/ws/index.ts';
import { openSocket } from '../helpers/ws-client.ts';

interface Who {
  name: string;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function serveHub(opts: Partial<LiveHubOptions<Who>>): Promise<{ url: string; hub: LiveHub }> {
  const hub = createLiveHub<Who>({
    intervalMs: 100,
    authenticate: async (req) => (req.headers.get('x-who') ? { name: req.headers.get('x-who')! } : null),
    topics: {},
    ...opts,
  });
  const app = new H3();
  app.get('/ws/live', defineWebSocketHandler(hub.hooks));
  app.get('/ws/live/:streamId', defineWebSocketHandler(hub.legacyHooks));
  const server = http.createServer(toNodeHandler(app));
  const sockets = attachWebSockets(server, app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  running.push(async () => {
    hub.close();
    sockets.closeAll();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, hub };
}

describe('a consumer that stops reading', () => {
  test('is never buffered without bound: it gets the latest state when it reads again, not every one it missed', async () => {
    let seq = 0;
    // Incompressible and large, so the kernel's loopback buffers (several MB) fill within the pause.
    const pad = randomBytes(750_000).toString('base64');
    const { url } = await serveHub({
      maxBufferedBytes: 256 * 1024,
      topics: { big: { authorize: () => true, snapshot: () => ({ seq: ++seq, pad }) } },
    });
    const c = await openSocket(`${url}/ws/live`, { 'x-who': 'slow' });
    c.send({ type: 'subscribe', topic: 'big' });
    await c.next((m) => m.type === 'update');
    // Stop reading: the kernel buffers fill, the server's socket backs up.
    const raw = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const pausedAt = seq;
    // Three seconds, and at least 20 states produced: a loaded machine may take longer to make them.
    const pausedSince = Date.now();
    while (Date.now() - pausedSince < 3000 || (seq - pausedAt < 20 && Date.now() - pausedSince < 20_000))
      await new Promise((r) => setTimeout(r, 100));
    const producedWhilePaused = seq - pausedAt;
    const received = c.messages.length;
    raw.resume();
    const last = await c.next((m) => m.type === 'update' && (m.data as { seq: number }).seq >= seq - 1, 5000);
    const deliveredAfter = c.messages.length - received;
    expect(producedWhilePaused).toBeGreaterThanOrEqual(20);
    // At most what the socket held when it backed up plus the latest, far fewer than were produced.
    expect(deliveredAfter).toBeLessThan(producedWhilePaused / 2);
    expect((last.data as { seq: number }).seq).toBeGreaterThan(pausedAt + producedWhilePaused - 3);
    c.close();
  });
});

describe('heartbeats', () => {
  test('a peer that answers no pings is terminated; one that does stays', async () => {
    const { url, hub } = await serveHub({ heartbeatMs: 300, topics: { t: { authorize: () => true } } });
    const dead = await openSocket(`${url}/ws/live`, { 'x-who': 'dead' });
    const alive = await openSocket(`${url}/ws/live`, { 'x-who': 'alive' });
    await dead.next((m) => m.type === 'welcome');
    await alive.next((m) => m.type === 'ping', 2000);
    // A frozen client reads nothing, so it answers neither kind of ping.
    (dead.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    expect(hub.health().connections).toBe(2);
    await expect.poll(() => hub.health().connections, { timeout: 5000, interval: 50 }).toBe(1);
    // The survivor has lived through more than two heartbeats since the other froze, and is still served.
    const mark = alive.messages.length;
    for (let i = 1; i <= 3; i++) await alive.next((m) => m.type === 'ping', 2000, mark + i - 1);
    expect(alive.messages.slice(mark).filter((m) => m.type === 'ping').length).toBeGreaterThanOrEqual(3);
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
    expect(hub.health().connections).toBe(1);
    alive.close();
  });
});

describe('legacy /ws/live/{streamId}', () => {
  test('welcome, then a metrics message for that channel every interval, with its recent moments', async () => {
    const { url } = await serveHub({
      topics: { stream: { authorize: (channel) => channel !== 'secret' } },
      legacy: {
        metrics: (id) => ({ viewers: id.length, bandwidth_bps: 1000 }),
        recentMoments: (id) => [{ channel: id, kind: 'spike' }],
      },
    });
    const c = await openSocket(`${url}/ws/live/news-1`, { 'x-who': 'telemetra' });
    expect(await c.next((m) => m.type === 'welcome')).toMatchObject({ streamId: 'news-1', intervalMs: 100 });
    await expect
      .poll(() => c.messages.filter((m) => m.type === 'metrics').length, { timeout: 3000 })
      .toBeGreaterThanOrEqual(3);
    const metrics = c.messages.filter((m) => m.type === 'metrics');
    expect(metrics[0]).toMatchObject({
      streamId: 'news-1',
      viewers: 6,
      bandwidth_bps: 1000,
      moments: [{ channel: 'news-1' }],
    });
    c.close();

    const refused = await openSocket(`${url}/ws/live/secret`, { 'x-who': 'telemetra' });
    expect((await refused.closed).code).toBe(4403);
    const anonymous = await openSocket(`${url}/ws/live/news-1`);
    expect((await anonymous.closed).code).toBe(4401);
  });
});
