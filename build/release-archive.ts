// Packs a built executable for download (m3w-<version>-linux-<arch>.tar.xz) and writes SHA256SUMS.
// Both are byte-for-byte reproducible: fixed names, order, owners, modes and times, and xz settings that do
// not depend on how many cores the building machine has.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Timestamp for every file in the archives: SOURCE_DATE_EPOCH if set, else the commit's time. */
export function sourceDateEpoch(root: string): number {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(
      execFileSync('git', ['log', '-1', '--format=%ct'], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim(),
    );
  } catch {
    return 0;
  }
}

export interface ArchiveInput {
  root: string;
  executable: string;
  version: string;
  arch: string;
  workDir: string;
  outDir: string;
  epoch: number;
}

/** m3w-<version>-linux-<arch>/{m3w, m3w.config.json, README.md} as .tar.xz; returns its path. */
export function packRelease(input: ArchiveInput): string {
  const name = `m3w-${input.version}-linux-${input.arch}`;
  const stage = path.join(input.workDir, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(input.executable, path.join(stage, 'm3w'));
  chmodSync(path.join(stage, 'm3w'), 0o755);
  // The documented defaults beside the binary: read from there when started, and the place to change them.
  for (const doc of ['m3w.config.json', 'README.md']) {
    copyFileSync(path.join(input.root, doc), path.join(stage, doc));
    chmodSync(path.join(stage, doc), 0o644);
  }
  chmodSync(stage, 0o755);

  const tar = path.join(input.workDir, `${name}.tar`);
  execFileSync(
    'tar',
    [
      '--create',
      '--file',
      tar,
      '--format=ustar', // no pax headers, which would record access and change times
      '--sort=name',
      `--mtime=@${input.epoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      input.workDir,
      name,
    ],
    { stdio: 'inherit' },
  );
  const archive = path.join(input.outDir, `${name}.tar.xz`);
  // Multithreaded xz writes the same bytes whatever the thread count, as long as the block size is fixed;
  // two threads (not "all cores") so the build behaves the same on every machine.
  const out = openSync(archive, 'w');
  try {
    execFileSync('xz', ['--compress', '--stdout', '-6', '--threads=2', '--block-size=16MiB', tar], {
      stdio: ['ignore', out, 'inherit'],
    });
  } finally {
    closeSync(out);
  }
  rmSync(tar);
  rmSync(stage, { recursive: true });
  return archive;
}

/** Writes `SHA256SUMS` in `outDir` for `files`, in the format `sha256sum -c` reads. */
export function writeChecksums(outDir: string, files: string[]): string {
  const lines = files
    .map((f) => path.basename(f))
    .sort()
    .map(
      (name) =>
        `${createHash('sha256')
          .update(readFileSync(path.join(outDir, name)))
          .digest('hex')}  ${name}\n`,
    );
  const file = path.join(outDir, 'SHA256SUMS');
  writeFileSync(file, lines.join(''));
  return file;
}
