// The durable floor: the least a durable JSON ingest endpoint must do, on this machine, with SQLite. A plain
// node:http server reads the body, JSON.parse's it, takes the summary's fields into a row (no validation, no
// auth, no rollups, no log line, no metrics), and answers 200 only once the row is committed: rows are group
// committed by a writer thread (durable-floor-writer.ts) into m3w's own sessions table, through m3w's insert
// statement and connection settings, at most two groups in flight, as m3w does. Measured beside the parse-only
// floor (floor-server.ts) in one run, it says how much of the gap to that floor any durable server would have,
// and how much is m3w's own.
// Usage: node --import tsx test/bench/durable-floor-server.ts <port> <dataDir>
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../src/store/index.ts';
import { SESSION_COLUMNS } from '../../src/store/sqlite/session-rows.ts';

const port = Number(process.argv[2]);
const dataDir = process.argv[3];
if (!Number.isInteger(port) || port <= 0 || !dataDir) {
  process.stderr.write('usage: durable-floor-server.ts <port> <dataDir>\n');
  process.exit(2);
}
const file = path.join(dataDir, 'm3w.db');
// m3w's schema, migrated by m3w, with the app the rows belong to.
const store = await SqliteStore.open({ file, durability: 'full' });
await store.ensureApp('default', 'Default', Date.now());
await store.close();

// The summary field of each column (snake_case to camelCase); the rest are filled below.
const FIELDS = SESSION_COLUMNS.map((c) => c.replace(/_(\w)/g, (_, x: string) => x.toUpperCase()));
const APP = SESSION_COLUMNS.indexOf('app_id');
const START = SESSION_COLUMNS.indexOf('session_start_ms');
const RECEIVED = SESSION_COLUMNS.indexOf('received_at');
const PAYLOAD = SESSION_COLUMNS.indexOf('payload');
const CUSTOM = SESSION_COLUMNS.indexOf('custom');

function pushRow(out: unknown[], summary: Record<string, unknown>, text: string): void {
  const base = out.length;
  for (const f of FIELDS) out.push(summary[f] ?? null);
  out[base + APP] = 'default';
  out[base + START] = Date.parse(summary.sessionStartDateIso as string);
  out[base + RECEIVED] = Date.now();
  out[base + CUSTOM] = null;
  out[base + PAYLOAD] = text;
}

const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
const entry = new URL('./durable-floor-writer.ts', import.meta.url).href;
const worker = new Worker(
  `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
  { eval: true, workerData: { file } },
);
await new Promise((resolve) => worker.once('message', resolve));

let queued: unknown[] = [];
let waiting: Array<() => void> = [];
const inFlight: Array<Array<() => void>> = [];
let scheduled = false;
function flush(): void {
  scheduled = false;
  if (waiting.length === 0 || inFlight.length >= 2) return;
  inFlight.push(waiting);
  worker.postMessage(queued);
  queued = [];
  waiting = [];
}
worker.on('message', () => {
  for (const done of inFlight.shift()!) done();
  flush();
});

const OK = JSON.stringify({ status: 'success' });
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let summary: Record<string, unknown>;
    try {
      summary = JSON.parse(text) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"error":"bad json"}'); // also what a readiness probe without a body gets
      return;
    }
    pushRow(queued, summary, text);
    waiting.push(() => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(OK);
    });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => worker.postMessage('close'));
  server.closeAllConnections();
  worker.once('exit', () => process.exit(0));
});
