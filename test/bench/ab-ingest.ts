// Two builds of m3w against the parse-only floor, alternating in one run on this machine, so a change to the
// ingestion path is judged by ratios measured minutes (not hours) apart: per round the floor (a), the base
// build and this checkout's build each take AB_SEC seconds of POST /v1/sessions (AB_BATCH sessions per request,
// 1 by default, 50 connections; 16 for batches). Prints requests/s, the ratio to the same round's floor, p99 and
// the server's CPU per request (main thread + the rest, i.e. the writer), then the medians.
// Run: (cd /tmp/base && npm run bundle) && npm run bundle && AB_BASE=/tmp/base/bin/m3w.js node --import tsx test/bench/ab-ingest.ts
// AB_BASE=self compares this checkout with itself; AB_BASE_NODE_ARGS and AB_NODE_ARGS (space-separated) give each
// side's Node options, to judge a runtime flag such as --max-semi-space-size.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Ledger, runLoad, type LoadFigures } from './load.ts';
import { BodyFactory } from './payloads.ts';
import { peakRssBytes, startFloor, startM3w, type ServerChild } from './servers.ts';

const base = process.env.AB_BASE;
if (!base) throw new Error('AB_BASE=path/to/other/bin/m3w.js (or self) is required');
const nodeArgs = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean);
const sides = {
  base: { bin: base === 'self' ? undefined : base, nodeArgs: nodeArgs('AB_BASE_NODE_ARGS') },
  branch: { bin: undefined, nodeArgs: nodeArgs('AB_NODE_ARGS') },
};
const batch = Number(process.env.AB_BATCH ?? 1);
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const seconds = Number(process.env.AB_SEC ?? 8);
const connections = batch === 1 ? 50 : 16;

type Figures = LoadFigures & { peakRssMB?: number };

async function measure(child: ServerChild, headers: Record<string, string>): Promise<Figures> {
  const f = await runLoad(
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
  const peak = peakRssBytes(child.pid);
  return { ...f, ...(peak === null ? {} : { peakRssMB: peak / 2 ** 20 }) };
}

async function m3w(side: { bin: string | undefined; nodeArgs: string[] }): Promise<Figures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-ab-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const child = await startM3w({
    dataDir: dir,
    apiKey,
    nodeArgs: side.nodeArgs,
    ...(side.bin ? { bin: side.bin } : {}),
  });
  try {
    return await measure(child, { 'X-API-Key': apiKey });
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function floor(): Promise<Figures> {
  const child = await startFloor();
  try {
    return await measure(child, {});
  } finally {
    await child.stop();
  }
}

const perReq = (f: LoadFigures, cores: number | null | undefined) =>
  cores === undefined || cores === null ? NaN : Math.round((cores * 1e6) / f.reqPerSec);
const line = (label: string, f: Figures, floorRate: number) =>
  `${label.padEnd(6)} ${Math.round(f.reqPerSec).toString().padStart(6)} req/s (${Math.round(f.sessionsPerSec)} sessions/s)  ` +
  `×floor ${(f.reqPerSec / floorRate).toFixed(2)}  p99 ${f.p99Ms} ms  CPU µs/req ${perReq(f, f.cpu?.server)} ` +
  `(main ${perReq(f, f.cpu?.serverMain)} + other ${perReq(f, f.cpu && f.cpu.server - f.cpu.serverMain)})  ` +
  `peak RSS ${f.peakRssMB?.toFixed(1) ?? 'n/a'} MB  non2xx ${f.non2xx}  others used ${f.cpu?.others.toFixed(2)} cores`;

const ratios: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
const cpu: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
const rss: Record<'base' | 'branch', number[]> = { base: [], branch: [] };
for (let r = 1; r <= rounds; r++) {
  const a = await floor();
  console.log(`round ${r}, ${batch} session(s)/request, ${connections} connections`);
  console.log(line('floor', a, a.reqPerSec));
  // Alternate which build goes first, so neither always follows the floor.
  const order: Array<'base' | 'branch'> = r % 2 === 1 ? ['base', 'branch'] : ['branch', 'base'];
  for (const which of order) {
    const f = await m3w(sides[which]);
    console.log(line(which, f, a.reqPerSec));
    ratios[which].push(f.reqPerSec / a.reqPerSec);
    cpu[which].push(perReq(f, f.cpu?.server));
    if (f.peakRssMB !== undefined) rss[which].push(Math.round(f.peakRssMB));
  }
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
for (const which of ['base', 'branch'] as const)
  console.log(
    `${which}: ×floor ${ratios[which].map((x) => x.toFixed(2)).join(', ')} (median ${median(ratios[which]).toFixed(2)}); ` +
      `server CPU µs/request ${cpu[which].join(', ')} (median ${median(cpu[which])}); ` +
      `peak RSS MB ${rss[which].join(', ')}`,
  );
