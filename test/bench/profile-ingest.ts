// CPU profile of m3w under ingestion load: starts `m3w serve` with --cpu-prof, drives POST /v1/sessions
// (PROFILE_BATCH sessions per request, 1 by default; PROFILE_CONNECTIONS connections) for PROFILE_SEC
// seconds, stops it, and prints where the main thread and the writer thread spent their CPU (self time per
// function, then per module). The .cpuprofile files stay in the printed folder for a closer look.
// Run: npm run bundle && PROFILE_BATCH=100 node --import tsx test/bench/profile-ingest.ts
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, runLoad } from './load.ts';
import { BodyFactory } from './payloads.ts';
import { startM3w } from './servers.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per file of one profile, idle excluded, as printable lines. */
export function summarize(file: string, top = 25): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i]!)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    const t = p.timeDeltas[i] ?? 0;
    const where = cf.url.replace(/^.*\/(node_modules\/[^/]+|src|dist)\//, '$1/') || '(native)';
    const key = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    mod.set(where, (mod.get(where) ?? 0) + t);
    busy += t;
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  return [
    `busy ${(busy / 1e6).toFixed(2)} s`,
    ...[...fn]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `  ${pct(t)}  ${k}`),
    '  by module:',
    ...[...mod]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, t]) => `  ${pct(t)}  ${k}`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const batch = Number(process.env.PROFILE_BATCH ?? 1);
  const connections = Number(process.env.PROFILE_CONNECTIONS ?? (batch === 1 ? 50 : 16));
  const seconds = Number(process.env.PROFILE_SEC ?? 10);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-profile-'));
  const profDir = mkdtempSync(path.join(os.tmpdir(), 'm3w-cpuprof-'));
  const apiKey = `bench-${randomBytes(12).toString('hex')}`;
  const child = await startM3w({
    dataDir: dir,
    apiKey,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  });
  try {
    const f = await runLoad(
      {
        url: child.url,
        path: '/v1/sessions',
        headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-API-Key': apiKey },
        bodies: new BodyFactory(batch),
        connections,
        warmupSec: 2,
        durationSec: seconds,
        serverPid: child.pid,
      },
      new Ledger(batch),
    );
    console.log(
      `${batch} session(s)/request, ${connections} connections: ${Math.round(f.sessionsPerSec)} sessions/s, p99 ${f.p99Ms} ms; ` +
        `server CPU µs/session ${f.cpu ? Math.round((f.cpu.server * 1e6) / f.sessionsPerSec) : 'n/a'} ` +
        `(main ${f.cpu ? Math.round((f.cpu.serverMain * 1e6) / f.sessionsPerSec) : 'n/a'}); other programs used ${f.cpu?.others.toFixed(2)} cores`,
    );
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // One file per thread: the main thread's is the largest; the writer's is the other busy one.
  for (const name of readdirSync(profDir).sort()) {
    const lines = summarize(path.join(profDir, name));
    if (Number(lines[0]!.split(' ')[1]) < 0.2) continue;
    console.log(`\n${name}\n${lines.join('\n')}`);
  }
  console.log(`\nprofiles kept in ${profDir}`);
}
