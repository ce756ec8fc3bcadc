// Two builds of m3w against the parse-only floor, alternating in one run on this machine, so a change to the
// ingestion path is judged by ratios measured minutes (not hours) apart: per round the floor (a), the base
// build and this checkout's build each take AB_SEC seconds of POST /v1/sessions (AB_BATCH sessions per request,
// 1 by default, 50 connections; 16 for batches). Prints requests/s, the ratio to the same round's floor, p99 and
// the server's CPU per request (main thread + the rest, i.e. the writer), then the medians.
// Run: (cd /tmp/base && npm run bundle) && npm run bundle && AB_BASE=/tmp/base/bin/m3w.js node --import tsx test/bench/ab-ingest.ts
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ledger, runLoad, type LoadFigures } from './load.ts';
import { BodyFactory } from './payloads.ts';
import { startFloor, startM3w, type ServerChild } from './servers.ts';

const base = process.env.AB_BASE;
if (!base) throw new Error('AB_BASE=path/to/other/bin/m3w.js is required');
const batch = Number(process.env.AB_BATCH ?? 1);
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const seconds = Number(process.env.AB_SEC ?? 8);
const connections = batch === 1 ? 50 : 16;

async function measure(child: ServerChild, headers: Record<string, string>): Promise<LoadFigures> {
  return runLoad(
    {
      url: child.url,
      path: '/v1/sessions',
      headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
      bodies: new BodyFactory(batch),
      connections,
      warmupSec: 2,
      durationSec: seconds,
      serverPid: child.pid,
    },
    new Ledger(batch),
  );
}

async function m3w(bin: string | undefined): Promise<LoadFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-ab-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const child = await startM3w({ dataDir: dir, apiKey, ...(bin ? { bin } : {}) });
  try {
    return await measure(child, { 'X-API-Key': apiKey });
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function floor(): Promise<LoadFigures> {
  const child = await startFloor();
  try {
    return await measure(child, {});
  } finally {
    await child.stop();
  }
}

const perReq = (f: LoadFigures, cores: number | null | undefined) =>
  cores === undefined || cores === null ? NaN : Math.round((cores * 1e6) / f.reqPerSec);
const line = (label: string, f: LoadFigures, floorRate: number) =>
  `${label.padEnd(6)} ${Math.round(f.reqPerSec).toString().padStart(6)} req/s (${Math.round(f.sessionsPerSec)} sessions/s)  ` +
  `×floor ${(f.reqPerSec / floorRate).toFixed(2)}  p99 ${f.p99Ms} ms  CPU µs/req ${perReq(f, f.cpu?.server)} ` +
  `(main ${perReq(f, f.cpu?.serverMain)} + other ${perReq(f, f.cpu && f.cpu.server - f.cpu.serverMain)})  ` +
  `non2xx ${f.non2xx}  others used ${f.cpu?.others.toFixed(2)} cores`;

const ratios: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
const cpu: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
for (let r = 1; r <= rounds; r++) {
  const a = await floor();
  console.log(`round ${r}, ${batch} session(s)/request, ${connections} connections`);
  console.log(line('floor', a, a.reqPerSec));
  // Alternate which build goes first, so neither always follows the floor.
  const order: Array<'base' | 'branch'> = r % 2 === 1 ? ['base', 'branch'] : ['branch', 'base'];
  for (const which of order) {
    const f = await m3w(which === 'base' ? base : undefined);
    console.log(line(which, f, a.reqPerSec));
    ratios[which].push(f.reqPerSec / a.reqPerSec);
    cpu[which].push(perReq(f, f.cpu?.server));
  }
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
for (const which of ['base', 'branch'] as const)
  console.log(
    `${which}: ×floor ${ratios[which].map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios[which]).toFixed(2)}); ` +
      `server CPU µs/request ${cpu[which].join(', ')} (median ${median(cpu[which])})`,
  );
