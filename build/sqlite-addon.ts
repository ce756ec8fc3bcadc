// Compiles better-sqlite3's native addon for one embedded Node: against that Node's headers (its ABI differs
// from the development Node's), for its CPU (arm64 with Debian's aarch64-linux-gnu cross compiler). It builds
// in a copy of the package under the build cache, so node_modules/better-sqlite3/build — the addon the
// tests load on the development Node — is never touched.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { withoutNpmConfig, type Arch, type NodeRuntime } from './node-runtime.ts';

const require = createRequire(import.meta.url);

const GNU_TRIPLET: Record<Arch, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const HOST_ARCH = process.arch as Arch;

/** Compiler, archiver and strip for the target: the plain tools natively, the triplet-prefixed ones across. */
function toolchain(arch: Arch): Record<'CC' | 'CXX' | 'AR' | 'LINK' | 'STRIP', string> {
  const prefix = arch === HOST_ARCH ? '' : `${GNU_TRIPLET[arch]}-`;
  return { CC: `${prefix}gcc`, CXX: `${prefix}g++`, AR: `${prefix}ar`, LINK: `${prefix}g++`, STRIP: `${prefix}strip` };
}

export interface SqliteAddon {
  /** The stripped addon, ready to embed. */
  file: string;
  /** Wall time of the compile; null when an identical earlier compile was reused. */
  compileMs: number | null;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!;
  } catch {
    throw new Error(
      `${cmd} not found: install Debian's ${cmd.includes('aarch64') ? 'g++-aarch64-linux-gnu' : 'g++ make python3'} to build the executable`,
    );
  }
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(opts.log, 'w');
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolve();
      const tail = readFileSync(opts.log, 'utf8').split('\n').slice(-25).join('\n');
      reject(new Error(`${path.basename(args[0] ?? cmd)} failed (exit ${code}); last lines of ${opts.log}:\n${tail}`));
    });
  });
}

/** Builds (or reuses, when every input is the same) better_sqlite3.node for `runtime`. */
export async function buildSqliteAddon(runtime: NodeRuntime, cacheDir: string): Promise<SqliteAddon> {
  const source = path.dirname(require.resolve('better-sqlite3/package.json'));
  const { version } = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as { version: string };
  const tools = toolchain(runtime.arch);
  const gypArgs = [
    'rebuild',
    '--release',
    `--target=${runtime.version}`,
    `--nodedir=${runtime.nodedir}`,
    `--arch=${runtime.arch}`,
  ];
  // Everything the output depends on; a change in any of them means compiling again.
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        version,
        node: runtime.version,
        arch: runtime.arch,
        cxx: firstLine(tools.CXX, ['--version']),
        // Not the headers' absolute path: it names the checkout, and every worktree sharing this cache would
        // otherwise compile again over the others' result. The version above already fixes the headers.
        gypArgs: gypArgs.filter((a) => !a.startsWith('--nodedir=')),
      }),
    )
    .digest('hex');
  const dir = path.join(cacheDir, `better-sqlite3-${version}-node${runtime.version}-linux-${runtime.arch}`);
  const output = path.join(dir, 'better_sqlite3.node');
  const stamp = path.join(dir, '.inputs');
  if (existsSync(output) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key)
    return { file: output, compileMs: null };

  const work = path.join(dir, 'src');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const entry of ['binding.gyp', 'package.json', 'src', 'deps'])
    cpSync(path.join(source, entry), path.join(work, entry), { recursive: true });

  const started = performance.now();
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  // npm_config_* from `npm run` (a user's nodedir, arch, …) would silently override node-gyp's defaults.
  const env = { ...withoutNpmConfig(process.env), CC: tools.CC, CXX: tools.CXX, AR: tools.AR, LINK: tools.LINK };
  const jobs = String(Math.max(1, Math.min(2, os.availableParallelism())));
  await run(process.execPath, [nodeGyp, ...gypArgs, '--jobs', jobs], {
    cwd: work,
    env,
    log: path.join(dir, 'node-gyp.log'),
  });
  const compileMs = Math.round(performance.now() - started);

  // The symbol table is only for debuggers; the loader needs the dynamic symbols, which strip keeps.
  copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), output);
  execFileSync(tools.STRIP, ['--strip-unneeded', output]);
  rmSync(work, { recursive: true, force: true });
  writeFileSync(stamp, key);
  return { file: output, compileMs };
}
