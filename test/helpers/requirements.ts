// What a suite needs from the machine (Chromium, the built binaries, qemu, ffmpeg, PostgreSQL, strace, PyYAML), checked
// in one place: on a developer's machine a missing one skips the suite and says so; with M3W_REQUIRE_ALL=1 (set
// by .ci/run) it fails the suite instead, naming what is missing, so CI can never pass by skipping.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** CI's switch: every "skip when X is missing" becomes a failure. */
export const REQUIRE_ALL = process.env.M3W_REQUIRE_ALL === '1';

export const CHROMIUM = process.env.M3W_CHROMIUM ?? '/usr/bin/chromium';
export const FFMPEG = process.env.M3W_FFMPEG ?? 'ffmpeg';
export const FFPROBE = process.env.M3W_FFPROBE ?? 'ffprobe';
export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
export const BINARY_X64 = path.join(DIST, 'm3w-linux-x64');
export const BINARY_ARM64 = path.join(DIST, 'm3w-linux-arm64');
export const QEMU = '/usr/bin/qemu-aarch64-static';
/** Debian's libc6-arm64-cross: the loader and libraries qemu needs to run the arm64 binary. */
export const ARM64_LIBC = '/usr/aarch64-linux-gnu';
/** The PostgreSQL database tests may use (created and dropped per test by the suites that need it). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? '';

export class MissingRequirement extends Error {
  override name = 'MissingRequirement';
}

/**
 * True when the suite can run. When `available` is false: under M3W_REQUIRE_ALL=1 throws (a test file that
 * throws while loading fails, with this message); otherwise prints what is skipped and why, and returns false.
 * Use as `describe.skipIf(!requireOrSkip('chromium', HAS_IT, 'no Chromium at …'))(…)`.
 */
export function requireOrSkip(what: string, available: boolean, why: string): boolean {
  if (available) return true;
  if (REQUIRE_ALL) throw new MissingRequirement(`M3W_REQUIRE_ALL=1 but ${what} is missing: ${why}`);
  console.warn(`skipped (${what} missing): ${why}`);
  return false;
}

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** The things suites need, each with how to tell it is there and what to do when it is not. */
const KNOWN = {
  chromium: () => ({
    available: existsSync(CHROMIUM),
    why: `no Chromium at ${CHROMIUM} (apt-get install chromium, or set M3W_CHROMIUM)`,
  }),
  ffmpeg: () => ({
    available: runs(FFMPEG, ['-hide_banner', '-version']) && runs(FFPROBE, ['-hide_banner', '-version']),
    why: `${FFMPEG} -version or ${FFPROBE} -version does not run (apt-get install ffmpeg, or set M3W_FFMPEG/M3W_FFPROBE)`,
  }),
  // Postgres suites run when TEST_DATABASE_URL names a database; CI (CI=true) must provide one.
  postgres: () => {
    if (!TEST_DATABASE_URL && process.env.CI === 'true')
      throw new MissingRequirement('CI=true but TEST_DATABASE_URL is not set (PostgreSQL tests cannot run)');
    return {
      available: TEST_DATABASE_URL !== '',
      why: 'TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)',
    };
  },
  'binary-x64': () => ({
    available: existsSync(BINARY_X64) && process.platform === 'linux' && process.arch === 'x64',
    why: `${BINARY_X64} is not built, or this is not linux-x64 (npm run build -- --arch x64)`,
  }),
  'binary-arm64': () => ({
    available: existsSync(BINARY_ARM64),
    why: `${BINARY_ARM64} is not built (npm run build -- --arch arm64)`,
  }),
  qemu: () => ({
    available: existsSync(QEMU) && existsSync(path.join(ARM64_LIBC, 'lib', 'ld-linux-aarch64.so.1')),
    why: `needs ${QEMU} (apt-get install qemu-user-static) and ${ARM64_LIBC} (libc6-arm64-cross)`,
  }),
  strace: () => ({ available: runs('strace', ['-V']), why: 'strace does not run (apt-get install strace)' }),
  // An independent YAML reader for files m3w writes (Grafana provisioning); Node has none built in.
  pyyaml: () => ({
    available: runs('python3', ['-c', 'import yaml']),
    why: 'python3 -c "import yaml" fails (apt-get install python3-yaml)',
  }),
} satisfies Record<string, () => { available: boolean; why: string }>;

export type Requirement = keyof typeof KNOWN;

/**
 * Whether a requirement is met, for a test that checks more when it is (e.g. adds the video pages to a sweep):
 * under M3W_REQUIRE_ALL=1 a missing one fails the suite like needs(); elsewhere it says what is left out.
 */
export function checksMoreWith(name: Requirement): boolean {
  const { available, why } = KNOWN[name]();
  if (available) return true;
  if (REQUIRE_ALL) throw new MissingRequirement(`M3W_REQUIRE_ALL=1 but ${name} is missing: ${why}`);
  console.warn(`checked less (${name} missing): ${why}`);
  return false;
}

/** True when every named requirement is met; see requireOrSkip for what happens when one is not. */
export function needs(...names: Requirement[]): boolean {
  let ok = true;
  for (const name of names) {
    const { available, why } = KNOWN[name]();
    if (!requireOrSkip(name, available, why)) ok = false;
  }
  return ok;
}
