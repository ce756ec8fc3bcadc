// Turns the staged app (build/binary-bundle.ts) into one executable with @yao-pkg/pkg's enhanced SEA mode:
// pkg walks the app into its virtual filesystem, writes the SEA blob with a Node of the target's exact
// version and injects it into that Node. It never downloads: its Node cache (~/.pkg-cache/sea, with HOME
// pointed at a folder of the build cache) is filled from the node-linux-* npm packages the build already
// uses, and a full version target (node22.23.5-linux-x64) needs no version lookup on nodejs.org.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { withoutNpmConfig, type NodeRuntime } from './node-runtime.ts';

const require = createRequire(import.meta.url);

/** The first pkg whose SEA mode has the virtual filesystem and reads its Node from the cache behind `.ok` markers. */
const PKG_MIN = [6, 23, 0];

function pkgBin(): string {
  const manifest = require.resolve('@yao-pkg/pkg/package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < PKG_MIN[0]! || (major === PKG_MIN[0] && minor < PKG_MIN[1]!))
    throw new Error(`@yao-pkg/pkg ${version} is installed; the build needs ${PKG_MIN.join('.')} or newer: run npm ci`);
  return path.join(path.dirname(manifest), 'lib-es5', 'bin.js');
}

/**
 * Puts `runtime` where pkg's SEA mode looks before downloading (lib-es5/sea.js, getNodejsExecutable and
 * extract): `<home>/.pkg-cache/sea/node-v<version>-linux-<arch>.tar.gz` with a `.ok` marker means "downloaded
 * and checksum verified", and `node-v<version>-linux-<arch>/bin/node` with `bin/node.ok` means "extracted".
 * With both markers present pkg reads neither the archive nor SHASUMS256.txt, so the archive is an empty
 * placeholder. The node placed there is stripped: pkg copies it as is into the executable, and Node's release
 * binaries carry ~18 MB of symbols for debuggers (the dynamic symbols that addons link against stay).
 */
export function fillPkgCache(runtime: NodeRuntime, home: string): void {
  const name = `node-v${runtime.version}-linux-${runtime.arch}`;
  const seaDir = path.join(home, '.pkg-cache', 'sea');
  const node = path.join(seaDir, name, 'bin', 'node');
  const source = path.join(seaDir, `${name}.from`);
  // Rebuilt when the runtime it was made from changed (a new pinned version or integrity).
  const from = readFileSync(path.join(runtime.nodedir, '.integrity'), 'utf8');
  if (existsSync(`${node}.ok`) && existsSync(source) && readFileSync(source, 'utf8') === from) return;

  mkdirSync(path.dirname(node), { recursive: true });
  rmSync(`${node}.ok`, { force: true });
  const partial = `${node}.partial`;
  copyFileSync(runtime.binary, partial);
  chmodSync(partial, 0o755);
  const strip =
    runtime.arch === process.arch ? 'strip' : `${runtime.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu-strip`;
  execFileSync(strip, ['--strip-all', partial]);
  renameSync(partial, node);
  writeFileSync(`${node}.ok`, '');
  writeFileSync(path.join(seaDir, `${name}.tar.gz`), '');
  writeFileSync(path.join(seaDir, `${name}.tar.gz.ok`), '');
  writeFileSync(source, from);
}

export interface PkgInput {
  /** The target's Node; pkg runs on `host`, which must be the same version (the SEA blob is version-specific). */
  target: NodeRuntime;
  /** The same Node version for this machine: it runs pkg (which needs Node ≥ 22) and so writes the blob. */
  host: NodeRuntime;
  /** The staged app's package.json: its "bin" is the entry, its "pkg.assets" the files beside it. */
  app: string;
  /** HOME for pkg: its Node cache lives under it. */
  home: string;
  output: string;
}

export function buildWithPkg(input: PkgInput): void {
  const { target, host } = input;
  if (target.version !== host.version) throw new Error(`pkg runs on Node ${host.version}, target is ${target.version}`);
  // For a target of this machine's CPU pkg writes the blob with the cached target Node; for a foreign one, with
  // the Node running it, since that is the target's exact version (pickBlobGeneratorBinary in lib-es5/sea.js).
  fillPkgCache(target, input.home);
  const partial = `${input.output}.partial`;
  rmSync(partial, { force: true });
  const args = [pkgBin(), input.app, '--sea', '--targets', `node${target.version}-linux-${target.arch}`];
  // pkg's progress lines are noise on success; on failure they are in the thrown error's stdout and stderr.
  execFileSync(host.binary, [...args, '--output', partial], {
    cwd: path.dirname(input.app),
    env: { ...withoutNpmConfig(process.env), HOME: input.home },
    stdio: 'pipe',
  });
  rmSync(input.output, { force: true });
  renameSync(partial, input.output);
}
