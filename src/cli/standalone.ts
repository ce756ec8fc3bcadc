// Whether m3w runs as the single-file executable, and where that executable lives: a double-clicked binary
// keeps its data and reads its m3w.config.json beside itself, not in whatever directory it was started from.
import { createRequire } from 'node:module';
import path from 'node:path';

export function isStandaloneBinary(): boolean {
  try {
    // node:sea exists on Node ≥ 20.12; isSea() is true only inside a single executable application.
    const sea = createRequire(import.meta.url)('node:sea') as { isSea(): boolean };
    return sea.isSea();
  } catch {
    return false;
  }
}

/** The directory that relative paths (./m3w-data, m3w.config.json) are resolved against. */
export function baseDirectory(): string {
  return isStandaloneBinary() ? path.dirname(process.execPath) : process.cwd();
}

/** The command line that starts this m3w again (for the systemd unit). */
export function selfCommand(): string[] {
  return isStandaloneBinary() ? [process.execPath] : [process.execPath, path.resolve(process.argv[1] ?? 'm3w')];
}
