// `npm run build`: the single-file m3w executables for Linux x64 and arm64 (64-bit Raspberry Pi OS), each
// embedding Node 22 LTS, the server, its migrations, the dashboard and a better-sqlite3 compiled for it, made by
// @yao-pkg/pkg (build/pkg-executable.ts) without any download; then a .tar.xz per target and SHA256SUMS, all in
// dist/. Needs only `npm ci` and Debian's g++, make, python3, xz-utils and (for arm64) g++-aarch64-linux-gnu.
// `--arch x64` (or arm64) builds one target.
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stageAddon, stageApp } from './binary-bundle.ts';
import { nodeRuntime, type Arch } from './node-runtime.ts';
import { buildWithPkg } from './pkg-executable.ts';
import { packRelease, sourceDateEpoch, writeChecksums } from './release-archive.ts';
import { buildSqliteAddon } from './sqlite-addon.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const ARCHES: readonly Arch[] = ['x64', 'arm64'];

export interface BuiltTarget {
  arch: Arch;
  executable: string;
  archive: string;
  addonCompileMs: number | null;
  executableMs: number;
  archiveMs: number;
}

export async function buildBinaries(arches: readonly Arch[], outDir = path.join(root, 'dist')): Promise<BuiltTarget[]> {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const cacheDir = path.join(root, 'node_modules', '.cache', 'm3w-build');
  const workDir = path.join(outDir, '.build');
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  const host = nodeRuntime(process.arch as Arch, cacheDir);
  const runtimes = arches.map((arch) => nodeRuntime(arch, cacheDir));
  const appDir = path.join(workDir, 'app');
  // Each compile is one long single-threaded job (SQLite's amalgamation), so the targets compile side by side.
  const [app, ...addons] = await Promise.all([
    stageApp(root, appDir, version),
    ...runtimes.map((runtime) => buildSqliteAddon(runtime, cacheDir)),
  ]);

  const epoch = sourceDateEpoch(root);
  const built: BuiltTarget[] = [];
  for (const [i, target] of runtimes.entries()) {
    const started = performance.now();
    const executable = path.join(outDir, `m3w-linux-${target.arch}`);
    stageAddon(appDir, addons[i]!.file);
    buildWithPkg({ target, host, app, home: path.join(cacheDir, 'pkg-home'), output: executable });
    const executableMs = Math.round(performance.now() - started);
    const archive = packRelease({ root, executable, version, arch: target.arch, workDir, outDir, epoch });
    const archiveMs = Math.round(performance.now() - started) - executableMs;
    built.push({
      arch: target.arch,
      executable,
      archive,
      addonCompileMs: addons[i]!.compileMs,
      executableMs,
      archiveMs,
    });
  }
  writeChecksums(
    outDir,
    built.flatMap((b) => [b.executable, b.archive]),
  );
  rmSync(workDir, { recursive: true, force: true });
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { arch: { type: 'string', default: ARCHES.join(',') } } });
  const arches = values.arch.split(',').map((a) => a.trim());
  for (const a of arches)
    if (!ARCHES.includes(a as Arch)) throw new Error(`--arch: unknown target "${a}" (known: ${ARCHES.join(', ')})`);
  const started = performance.now();
  const built = await buildBinaries(arches as Arch[]);
  const mb = (file: string) => `${(statSync(file).size / 1e6).toFixed(1)} MB`;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  for (const b of built) {
    const compile =
      b.addonCompileMs === null ? 'addon reused from the build cache' : `addon compiled in ${s(b.addonCompileMs)}`;
    console.log(
      `${path.relative(root, b.executable)}  ${mb(b.executable)}  (${compile}; executable made in ${s(b.executableMs)})`,
    );
    console.log(`${path.relative(root, b.archive)}  ${mb(b.archive)}  (in ${s(b.archiveMs)})`);
  }
  console.log(`dist/SHA256SUMS written; total ${s(performance.now() - started)}`);
}
