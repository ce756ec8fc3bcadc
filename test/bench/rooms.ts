// `npm run bench:rooms`: watch-party fan-out on this machine. 100 rooms of 10 members, then one room of 1,000:
// a command (play/pause) from the host until the room's last member has it, p50/p99; a chat line's fan-out;
// the server's RSS. The server runs here, the members in a worker thread (their own event loop); both share
// the machine's cores, so the figures include the clients' work. Targets: p99 ≤ 100 ms (100 × 10),
// ≤ 250 ms (1 × 1,000).
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { startTestServer } from '../helpers/server.ts';
import { reportTargets, target } from './targets.ts';

const ROUNDS = { command: 20, chat: 4 };

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function scenario(label: string, roomCount: number, members: number, limit: number): Promise<boolean> {
  const ts = await startTestServer({ logLevel: 'warn', rateLimit: { requests: 1_000_000_000, windowSec: 60 } });
  try {
    const admin = (await setupAdmin(ts)).accessToken;
    const videoId = `benchvideo${roomCount}x${members}`;
    await ts.server.store.videos.createVideo({
      id: videoId,
      appId: 'default',
      title: 'bench',
      status: 'uploading',
      uploadLength: 1,
      createdAt: Date.now(),
    });
    const ws = ts.url.replace(/^http/, 'ws');
    const rooms: string[][] = [];
    for (let r = 0; r < roomCount; r++) {
      const id = (await call(ts, 'POST', '/api/v1/rooms', { token: admin, body: { name: `r${r}`, videoId } })).json!
        .id as string;
      const ticket = (await call(ts, 'POST', '/api/v1/ws-ticket', { token: admin })).json!.ticket as string;
      const urls = [`${ws}/ws/rooms/${id}?ticket=${ticket}`];
      for (let m = 1; m < members; m++)
        urls.push(
          `${ws}/ws/rooms/${id}?token=${await ts.server.accounts.signer.signGuest(`room:${id}`, `g${m}`, 3600)}`,
        );
      rooms.push(urls);
    }
    // A worker does not inherit the tsx loader: a one-line module registers it, then loads the clients.
    const boot = `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}); register(); await import(${JSON.stringify(new URL('./room-clients.ts', import.meta.url).href)});`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: { rooms } });
    const next = () =>
      new Promise<any>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const t0 = performance.now();
    await next();
    const connectMs = performance.now() - t0;
    worker.postMessage({ type: 'fire', kind: 'command', rounds: ROUNDS.command });
    const commands = (await next()).results as number[];
    worker.postMessage({ type: 'fire', kind: 'chat', rounds: ROUNDS.chat });
    const chats = (await next()).results as number[];
    const rss = process.memoryUsage().rss / 1024 / 1024;
    await worker.terminate();
    const p99 = pct(commands, 99);
    console.log(
      `${label}: ${roomCount * members} members connected in ${(connectMs / 1000).toFixed(1)} s; ` +
        `command to the last member p50 ${pct(commands, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (target ≤ ${limit}); ` +
        `chat fan-out p50 ${pct(chats, 50).toFixed(1)} ms, p99 ${pct(chats, 99).toFixed(1)} ms; ` +
        `RSS (server and members) ${rss.toFixed(0)} MB`,
    );
    return target(`rooms ${label}: command p99 ≤ ${limit} ms`, `${p99.toFixed(1)} ms`, p99 <= limit) === true;
  } finally {
    await ts.close();
  }
}

/** Both scenarios, each checked against its target (part of `npm run bench`). */
export async function roomsBench(): Promise<void> {
  await scenario('100 rooms × 10', 100, 10, 100);
  await scenario('1 room × 1,000', 1, 1000, 250);
}

// `npm run bench:rooms` runs this file alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await roomsBench();
  reportTargets();
}
