// Runs the real m3w command as a child process (through bin/m3w.js), for CLI, shutdown and crash tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const M3W_BIN = fileURLToPath(new URL('../../bin/m3w.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `m3w ARGS` to completion in `cwd`, with only the environment given (plus PATH). */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): CliResult {
  const r = spawnSync(process.execPath, [M3W_BIN, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `m3w ARGS` without blocking this event loop (so the test can keep a server busy meanwhile). */
export function runCliAsync(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [M3W_BIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('error', reject);
    proc.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// Every server started here dies with the test process, even when an assertion fails before a test stops it.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string>;
  args?: string[];
  /** Program and leading arguments; default: this Node running bin/m3w.js. A built binary goes here. */
  command?: string[];
  /** Use `env` as the whole environment (no PATH, as `env -i`). */
  exactEnv?: boolean;
  timeoutMs?: number;
}

/** Starts `m3w serve --port 0` and resolves once it logs "listening". */
export function spawnServer(opts: SpawnOptions): Promise<ServerProcess> {
  const [program, ...lead] = opts.command ?? [process.execPath, M3W_BIN];
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const proc = spawn(program!, [...lead, 'serve', '--port', '0', '--host', '127.0.0.1', ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: opts.exactEnv ? (opts.env ?? {}) : { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`m3w did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ proc, port, url: `http://127.0.0.1:${port}`, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`m3w exited (${code}) before listening:\n${out}`));
    });
  });
}
