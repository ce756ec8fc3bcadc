// Measures the built executable the way a self-hoster meets it: time from exec to a healthy /health on an
// empty data directory (first run) and on an existing one (restart), median of 5 each, and the resident
// memory once it sits idle. Prints figures; asserts nothing. Given several binaries (say, before and after a
// change) it takes their runs in turn, so a busy machine slows them alike and the figures stay comparable.
// Run: node --import tsx test/binary/measure.ts [dist/m3w-linux-x64 [other-binary …]]
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const binaries = (
  process.argv.length > 2
    ? process.argv.slice(2)
    : [fileURLToPath(new URL('../../dist/m3w-linux-x64', import.meta.url))]
).map((b) => path.resolve(b));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`)).status === 200;
  } catch {
    return false;
  }
}

/** Starts the binary in `dir` with an empty environment; resolves with ms to healthy and a stop function. */
async function start(
  dir: string,
): Promise<{ ms: number; pid: number; url: string; stop: () => Promise<number | null> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = spawn('./m3w', ['serve', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: dir,
    env: {},
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  while (!(await healthy(url))) {
    if (performance.now() - t0 > 30_000) throw new Error('not healthy after 30 s');
    await sleep(2);
  }
  const ms = performance.now() - t0;
  return {
    ms,
    pid: proc.pid!,
    url,
    stop: () => {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const RUNS = 7;
const results = binaries.map((binary) => ({
  binary,
  firstRun: [] as number[],
  restart: [] as number[],
  idleRss: [] as number[],
}));
for (let i = 0; i < RUNS; i++) {
  for (const r of results) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-measure-'));
    copyFileSync(r.binary, path.join(dir, 'm3w'));
    try {
      const a = await start(dir);
      r.firstRun.push(a.ms);
      await a.stop();
      const b = await start(dir);
      r.restart.push(b.ms);
      if (i < 3) {
        await sleep(5_000);
        r.idleRss.push(rssMb(b.pid));
      }
      await b.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;
for (const r of results) {
  console.log(`binary: ${r.binary}`);
  console.log(`  cold start to healthy, first run (creates the database): ${fmt(r.firstRun)}`);
  console.log(`  cold start to healthy, restart on existing data:        ${fmt(r.restart)}`);
  console.log(
    `  idle RSS 5 s after start: median ${median(r.idleRss).toFixed(1)} MB (${r.idleRss.map((x) => x.toFixed(1)).join(', ')})`,
  );
}
