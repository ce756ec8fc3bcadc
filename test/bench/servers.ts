// The servers under test, each run as its own child process (never in the load generator's process):
// start on a free port, wait until ready, read peak RSS, stop with SIGTERM and wait for the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { M3W_BIN } from '../helpers/child.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FLOOR_SERVER = fileURLToPath(new URL('./floor-server.ts', import.meta.url));
const DURABLE_FLOOR_SERVER = fileURLToPath(new URL('./durable-floor-server.ts', import.meta.url));

export interface ServerChild {
  name: string;
  proc: ChildProcess;
  pid: number;
  url: string;
  /** The tail of its stderr, for error messages. */
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s); resolves with the exit code or signal. */
  stop(): Promise<number | string>;
}

/** Children not yet stopped, so a watchdog can kill them if the bench overruns. */
export const liveChildren = new Set<ServerChild>();

/** One HTTP request on its own connection (no keep-alive pool left behind); resolves with the status. */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Like request(), resolving with the status and the response body as text. */
export function requestText(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

// m3w's stdout must go to 'ignore' (logging costs what it costs in production, nobody reads it), so the
// port cannot be learned from its "listening" line: pick a free one here and pass it.
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function launch(
  name: string,
  args: string[],
  opts: {
    cwd: string;
    env: Record<string, string>;
    port: number;
    ready: (status: number) => boolean;
    probePath: string;
  },
): Promise<ServerChild> {
  const proc = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')),
  );
  let exitedEarly: number | string | null = null;
  void exited.then((code) => (exitedEarly = code));

  const url = `http://127.0.0.1:${opts.port}`;
  const child: ServerChild = {
    name,
    proc,
    pid: proc.pid!,
    url,
    stderr: () => err,
    async stop() {
      liveChildren.delete(child);
      if (exitedEarly === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
  liveChildren.add(child);

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exitedEarly !== null) throw new Error(`${name} exited (${exitedEarly}) before it was ready:\n${err}`);
    const status = await request(url + opts.probePath).catch(() => 0);
    if (opts.ready(status)) return child;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${name} was not ready within 30 s:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The plain node:http floor (TypeScript run through tsx; its request path is plain node:http either way). */
export async function startFloor(): Promise<ServerChild> {
  const port = await freePort();
  return launch('floor', ['--import', 'tsx', FLOOR_SERVER, String(port)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '' },
    port,
    probePath: '/',
    ready: (status) => status !== 0, // any answer means it is listening
  });
}

/** The durable floor (durable-floor-server.ts): parse, then group commit into m3w's table in `dataDir`. */
export async function startDurableFloor(dataDir: string): Promise<ServerChild> {
  const port = await freePort();
  return launch('durable floor', ['--import', 'tsx', DURABLE_FLOOR_SERVER, String(port), dataDir], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '' },
    port,
    probePath: '/',
    ready: (status) => status !== 0,
  });
}

/** `m3w serve` with a fresh data directory, durability full, and a rate limit that never trips. */
export async function startM3w(opts: {
  dataDir: string;
  apiKey: string;
  env?: Record<string, string>;
  /** Options for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** Another build's bin/m3w.js (ab-ingest.ts compares two builds); this checkout's by default. */
  bin?: string;
}): Promise<ServerChild> {
  const port = await freePort();
  return launch(
    'm3w',
    [...(opts.nodeArgs ?? []), opts.bin ?? M3W_BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'],
    {
      // The data dir as cwd, so no m3w.config.json is picked up: only the defaults and the env below apply.
      cwd: opts.dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        M3W_API_KEY: opts.apiKey,
        M3W_DATA_DIR: opts.dataDir,
        M3W_DURABILITY: 'full',
        RATE_LIMIT_REQUESTS: '1000000000',
        RATE_LIMIT_WINDOW_SEC: '60',
        // The bench measures what the server can take, not the per-app webhook limit (120,000 events a minute).
        M3W_WEBHOOK_EVENTS_PER_MINUTE: '1000000000',
        LOG_LEVEL: 'info',
        ...opts.env,
      },
      port,
      probePath: '/health',
      ready: (status) => status === 200, // 200 only once the database answers
    },
  );
}

function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null; // not Linux, or the process is gone
  }
}

/** Peak resident set size of a live process (VmHWM; the writer thread lives in the same process), in bytes. */
export const peakRssBytes = (pid: number) => procStatusBytes(pid, 'VmHWM');
/** Resident set size now (VmRSS), in bytes. */
export const rssBytes = (pid: number) => procStatusBytes(pid, 'VmRSS');
