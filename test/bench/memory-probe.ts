// Where m3w's memory goes under ingestion load: polls /metrics (the main thread's V8 heap spaces, external
// memory) and /proc (RSS) while the bench's load runs, and prints the peaks of each.
// Run: npm run bundle && PROBE_BATCH=100 [PROBE_NODE_ARGS='--max-semi-space-size=4'] node --import tsx test/bench/memory-probe.ts
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ledger, runLoad } from './load.ts';
import { BodyFactory } from './payloads.ts';
import { peakRssBytes, requestText, rssBytes, startM3w } from './servers.ts';

const batch = Number(process.env.PROBE_BATCH ?? 100);
const seconds = Number(process.env.PROBE_SEC ?? 10);
const nodeArgs = (process.env.PROBE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-probe-'));
const apiKey = `bench-${randomBytes(12).toString('hex')}`;
const child = await startM3w({ dataDir: dir, apiKey, nodeArgs });
const peaks = new Map<string, number>();
const note = (name: string, bytes: number) => peaks.set(name, Math.max(peaks.get(name) ?? 0, bytes));
let polling = true;
const poll = (async () => {
  while (polling) {
    const { body } = await requestText(`${child.url}/metrics`);
    for (const m of body.matchAll(
      /^(nodejs_heap_space_size_total_bytes\{space="(\w+)"\}|nodejs_external_memory_bytes|nodejs_heap_size_total_bytes|nodejs_heap_size_used_bytes) (\d+)/gm,
    ))
      note(m[2] ? `heap ${m[2]} (total)` : m[1]!, Number(m[3]));
    note('rss', rssBytes(child.pid) ?? 0);
    await new Promise((r) => setTimeout(r, 200));
  }
})();
const idle = rssBytes(child.pid) ?? 0;
const f = await runLoad(
  {
    url: child.url,
    path: '/v1/sessions',
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-API-Key': apiKey },
    bodies: new BodyFactory(batch),
    connections: batch === 1 ? 50 : 16,
    warmupSec: 2,
    durationSec: seconds,
    serverPid: child.pid,
  },
  new Ledger(batch),
);
polling = false;
await poll;
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(
  `batch ${batch}, node args [${nodeArgs.join(' ')}]: ${Math.round(f.sessionsPerSec)} sessions/s, p99 ${f.p99Ms} ms`,
);
console.log(`  RSS idle ${mb(idle)} MB, peak (VmHWM) ${mb(peakRssBytes(child.pid) ?? 0)} MB`);
for (const [name, bytes] of [...peaks].sort()) console.log(`  peak ${name}: ${mb(bytes)} MB`);
await child.stop();
rmSync(dir, { recursive: true, force: true });
