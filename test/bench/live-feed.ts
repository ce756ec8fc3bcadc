// `npm run bench`, live feed: 1,000 WebSocket subscribers on one topic (overview:default) of a real m3w child
// process, a session ingested every 600 ms, and for each: the time from sending it to the moment the LAST
// subscriber has the update (what a person at the thousandth screen waits), split into the wait for the next
// interval (liveIntervalMs is set to its minimum, 250 ms) and the fan-out from the server's tick to the last
// client. Also the server's RSS with everyone connected.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { M3W_BIN } from '../helpers/child.ts';
import { rssBytes, startM3w } from './servers.ts';
import { reportTargets, target } from './targets.ts';

const SUBSCRIBERS = 1000;
const EVENTS = 40;
const SPACING_MS = 600;
const INTERVAL_MS = 250;
const TARGET_P99_MS = 250;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export interface LiveFeedFigures {
  subscribers: number;
  endToEnd: { p50: number; p99: number; max: number };
  fanOut: { p50: number; p99: number; max: number };
  rssIdleMB: number | null;
  rssConnectedMB: number | null;
}

export async function liveFeedBench(): Promise<LiveFeedFigures> {
  console.log(`running live feed: ${SUBSCRIBERS} subscribers on overview:default, liveIntervalMs ${INTERVAL_MS} ...`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'm3w-bench-live-'));
  const apiKey = `bench_${randomBytes(16).toString('hex')}`;
  const env = { PATH: process.env.PATH ?? '', M3W_DATA_DIR: dataDir, M3W_API_KEY: apiKey };
  // The read key is made before the server starts (one process per database).
  const created = spawnSync(
    process.execPath,
    [M3W_BIN, 'apikey', 'create', '--name', 'bench reader', '--scope', 'read', '--json'],
    { cwd: dataDir, env, encoding: 'utf8' },
  );
  if (created.status !== 0) throw new Error(`apikey create failed: ${created.stderr}`);
  const readKey = (JSON.parse(created.stdout) as { key: string }).key;
  const server = await startM3w({ dataDir, apiKey, env: { M3W_LIVE_INTERVAL_MS: String(INTERVAL_MS) } });
  const sockets: WebSocket[] = [];
  try {
    const rssIdle = rssBytes(server.pid);
    const wsUrl = `${server.url.replace('http', 'ws')}/ws/live`;
    /** Per subscriber: the sessions count of the last update it got, and when. */
    const seen = new Array<{ sessions: number; at: number; serverAt: number }>(SUBSCRIBERS);
    let waiter: (() => void) | null = null;
    const opened: Promise<void>[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const ws = new WebSocket(wsUrl, { headers: { 'x-api-key': readKey } });
      sockets.push(ws);
      seen[i] = { sessions: -1, at: 0, serverAt: 0 };
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; at?: number; data?: { sessions: number } };
        if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'overview:default' }));
        if (m.type !== 'update') return;
        seen[i] = { sessions: m.data!.sessions, at: performance.now(), serverAt: m.at! };
        waiter?.();
      });
      opened.push(new Promise((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))));
      // Connect in small waves: a thousand handshakes at once would measure the accept queue, not the hub.
      if (i % 100 === 99) await Promise.all(opened.slice(-100));
    }
    await Promise.all(opened);
    const allAt = (n: number) => seen.every((s) => s.sessions >= n);
    const until = (cond: () => boolean, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        if (cond()) return resolve();
        const timer = setTimeout(
          () => reject(new Error('live feed bench: subscribers did not all get the update in time')),
          timeoutMs,
        );
        waiter = () => {
          if (!cond()) return;
          clearTimeout(timer);
          waiter = null;
          resolve();
        };
      });
    await until(() => allAt(0), 20_000);
    const rssConnected = rssBytes(server.pid);

    const endToEnd: number[] = [];
    const fanOut: number[] = [];
    for (let n = 1; n <= EVENTS; n++) {
      const sent = performance.now();
      const sentWall = Date.now();
      const res = await fetch(`${server.url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify({
          sessionId: `live-${n}`,
          timestamp: sentWall,
          sessionStartDateIso: new Date(sentWall).toISOString(),
          sessionDurationMs: 1000,
        }),
      });
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
      await until(() => allAt(n), 10_000);
      const last = Math.max(...seen.map((s) => s.at));
      endToEnd.push(last - sent);
      // Wall clocks of the same machine: the server's tick time to the last client's receipt.
      const tick = Math.min(...seen.map((s) => s.serverAt));
      fanOut.push(Date.now() - (performance.now() - last) - tick);
      await new Promise((r) => setTimeout(r, SPACING_MS));
    }
    endToEnd.sort((a, b) => a - b);
    fanOut.sort((a, b) => a - b);
    const figures: LiveFeedFigures = {
      subscribers: SUBSCRIBERS,
      endToEnd: { p50: pct(endToEnd, 50), p99: pct(endToEnd, 99), max: endToEnd.at(-1)! },
      fanOut: { p50: pct(fanOut, 50), p99: pct(fanOut, 99), max: fanOut.at(-1)! },
      rssIdleMB: rssIdle === null ? null : rssIdle / 1e6,
      rssConnectedMB: rssConnected === null ? null : rssConnected / 1e6,
    };
    const r = (x: number) => Math.round(x);
    console.log('\n## Live feed benchmark\n');
    console.log(
      `| Subscribers | ingest → last subscriber p50 / p99 / max ms | tick → last subscriber p50 / p99 / max ms | RSS MB idle → ${SUBSCRIBERS} connected |`,
    );
    console.log('|---:|---:|---:|---:|');
    console.log(
      `| ${SUBSCRIBERS} | ${r(figures.endToEnd.p50)} / ${r(figures.endToEnd.p99)} / ${r(figures.endToEnd.max)} | ${r(figures.fanOut.p50)} / ${r(figures.fanOut.p99)} / ${r(figures.fanOut.max)} | ${figures.rssIdleMB?.toFixed(0) ?? '?'} → ${figures.rssConnectedMB?.toFixed(0) ?? '?'} |`,
    );
    const met = target(
      `live feed: ingest → last of ${SUBSCRIBERS} subscribers p99 ≤ ${TARGET_P99_MS} ms (liveIntervalMs ${INTERVAL_MS})`,
      `${r(figures.endToEnd.p99)} ms`,
      figures.endToEnd.p99 <= TARGET_P99_MS,
    );
    console.log(
      `\nTarget: ingest → last subscriber p99 ≤ ${TARGET_P99_MS} ms with liveIntervalMs ${INTERVAL_MS} (includes up to one interval of waiting): ${met ? 'met' : '**not met**'}`,
    );
    return figures;
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await liveFeedBench();
  reportTargets();
}
