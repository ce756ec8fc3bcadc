// The watch-party bench's members, in a worker thread (their event loop is not the server's): opens every
// connection it is given, answers heartbeats, and on request has one member per room send a command or a chat
// line, reporting how long until the last member of that room received it.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

interface Job {
  rooms: string[][]; // per room: the host's URL first, then the members'
}

const { rooms } = workerData as Job;
const sockets: WebSocket[][] = [];
let waiting: { room: number; kind: string; sentAt: number; left: number; done: (ms: number) => void } | null = null;

async function open(url: string, room: number): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { type: string; serverTime?: number };
    if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', serverTime: m.serverTime }));
    if (waiting && waiting.room === room && m.type === waiting.kind && --waiting.left === 0)
      waiting.done(performance.now() - waiting.sentAt);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // the welcome
    ws.once('error', reject);
  });
  return ws;
}

async function main(): Promise<void> {
  for (const [i, urls] of rooms.entries()) {
    const list: WebSocket[] = [];
    // In small groups: a thousand handshakes at once would measure the accept queue, not the rooms.
    for (let k = 0; k < urls.length; k += 50)
      list.push(...(await Promise.all(urls.slice(k, k + 50).map((u) => open(u, i)))));
    sockets.push(list);
  }
  parentPort!.postMessage({ type: 'ready' });
  parentPort!.on('message', async (msg: { type: 'fire'; kind: 'command' | 'chat'; rounds: number }) => {
    const results: number[] = [];
    for (let round = 0; round < msg.rounds; round++)
      for (const [i, list] of sockets.entries()) {
        const ms = await new Promise<number>((resolve) => {
          waiting = { room: i, kind: msg.kind, sentAt: performance.now(), left: list.length, done: resolve };
          const frame =
            msg.kind === 'command'
              ? { type: round % 2 ? 'pause' : 'play', position: round }
              : { type: 'chat', text: `round ${round}` };
          list[0]!.send(JSON.stringify(frame));
        });
        results.push(ms);
        // Chat allows one line a second per member after a burst of 4: spread the chat rounds.
        if (msg.kind === 'chat' && sockets.length === 1) await new Promise((r) => setTimeout(r, 1000));
      }
    parentPort!.postMessage({ type: 'results', results });
  });
}

void main();
