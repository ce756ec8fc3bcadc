// Turns the bundle into one executable with Node's own single-executable tooling: the embedded Node
// (24.x, same patch release as the target's) writes the preparation blob from a sea-config, and postject
// injects it into a stripped copy of the target's official node binary.
//
// Why not `pkg --sea`: @yao-pkg/pkg 6.23's command (and its exec() API) never hands a Node binary to its SEA
// pipeline — lib/index.ts calls sea()/seaEnhanced() with only targets and signature — so it always
// downloads Node from nodejs.org, which this build cannot reach. Its internal sea() accepts a nodePath, but
// for a foreign CPU it runs that binary to read its version and fails without an emulator. The two steps
// it would run are the two below.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NodeRuntime } from './node-runtime.ts';

const require = createRequire(import.meta.url);
const postject = require('postject') as {
  inject(
    file: string,
    resource: string,
    data: Buffer,
    opts: { sentinelFuse: string; overwrite?: boolean },
  ): Promise<void>;
};

/** The fuse Node's binary carries so that it looks for an injected blob (documented by Node's SEA guide). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * postject's ELF library warns once per note section of Node's binary that it cannot name; the notes are kept
 * as they are and the executable is sound, so these lines would only hide real messages.
 */
async function withoutBenignWarnings<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write;
  const benign = /^warning: Can't find string offset for section name '\.note[.\d]*'\n?$/;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    benign.test(String(chunk)) ? true : write.call(process.stderr, chunk, ...rest)) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = write;
  }
}

export interface ExecutableInput {
  /** The target's runtime: its binary becomes the executable. */
  target: NodeRuntime;
  /** A runtime of the same Node version that runs on this machine: it writes the blob. */
  generator: NodeRuntime;
  /** The script the executable runs, relative to `workDir` (the blob records this path). */
  main: string;
  assets: Record<string, string>;
  workDir: string;
  output: string;
}

export async function buildExecutable(input: ExecutableInput): Promise<void> {
  const { target, generator, workDir } = input;
  if (target.version !== generator.version)
    throw new Error(`blob writer is Node ${generator.version}, target is ${target.version}`);
  const blob = path.join(workDir, `sea-prep-${target.arch}.blob`);
  const config = path.join(workDir, `sea-config-${target.arch}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      main: input.main,
      output: path.basename(blob),
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      // V8's code cache would save ~25 ms of parsing at start, but its bytes differ from one build to the
      // next, and the executable must be reproducible. (It would also only fit the generator's CPU.)
      useCodeCache: false,
      assets: input.assets,
    }),
  );
  // Its one line of output ("Wrote … blob") is noise; a failure's message is in the thrown error.
  execFileSync(generator.binary, ['--experimental-sea-config', config], { cwd: workDir, stdio: 'pipe' });

  const partial = path.join(workDir, `m3w-linux-${target.arch}`);
  copyFileSync(target.binary, partial);
  chmodSync(partial, 0o755);
  // Node's release binaries carry ~18 MB of symbols for debuggers; the dynamic symbols addons link
  // against stay. Stripped before injection: stripping afterwards could drop the injected note.
  const strip =
    target.arch === process.arch ? 'strip' : `${target.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu-strip`;
  execFileSync(strip, ['--strip-all', partial]);
  await withoutBenignWarnings(() =>
    postject.inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE }),
  );
  rmSync(input.output, { force: true });
  renameSync(partial, input.output);
}
