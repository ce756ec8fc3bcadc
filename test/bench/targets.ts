// The benchmarks' targets and checks, collected across scenarios so `npm run bench` (or one scenario run
// alone) ends with a list of what was missed and exits non-zero when anything was.
export interface TargetResult {
  target: string;
  measured: string;
  /** null: could not be measured here (e.g. no /proc). */
  met: boolean | null;
}

const results: TargetResult[] = [];

/** Records a target (or a correctness check) and returns whether it was met. */
export function target(name: string, measured: string, met: boolean | null): boolean | null {
  results.push({ target: name, measured, met });
  return met;
}

/** Prints the targets not met and sets a non-zero exit code when there are any. */
export function reportTargets(): void {
  const missed = results.filter((r) => r.met === false);
  const unknown = results.filter((r) => r.met === null);
  console.log(`\n## Targets: ${results.length - missed.length - unknown.length} of ${results.length} met\n`);
  for (const r of unknown) console.log(`  ?   ${r.target}: ${r.measured} (not measurable here)`);
  for (const r of missed) console.log(`  NO  ${r.target}: ${r.measured}`);
  if (missed.length > 0) {
    console.log(`\n${missed.length} target(s) not met: exiting with 1.`);
    process.exitCode = 1;
  }
}
