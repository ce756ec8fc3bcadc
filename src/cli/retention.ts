// m3w retention [--dry-run]: what retention removes (or, with --dry-run, would remove) now, per kind of
// row. The server does the same daily at 02:00; this shows it ahead of time or runs it on demand.
import type { ResolvedConfig } from '../config/index.ts';
import { retentionCutoffs, runRetention } from '../engine/index.ts';
import { openStore, StoreError } from '../store/index.ts';
import { existsSync } from 'node:fs';

const day = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export async function runRetentionCommand(config: ResolvedConfig, dryRun: boolean): Promise<number> {
  if (config.postgresUrl === null && !existsSync(config.databasePath))
    throw new StoreError(`there is no database at ${config.databasePath}`);
  const store = await openStore(config);
  try {
    const report = await runRetention(store, retentionCutoffs(config, Date.now()), dryRun);
    const c = report.counts;
    const verb = dryRun ? 'would delete' : 'deleted';
    const out = process.stdout;
    out.write(`${dryRun ? 'Dry run: nothing is deleted.\n' : ''}`);
    out.write(
      `raw SDK sessions before ${day(report.cutoffs.raw)} (retentionDays ${config.retentionDays}): ${verb} ${c.sessions}\n`,
    );
    out.write(`closed play sessions before ${day(report.cutoffs.raw)}: ${verb} ${c.playSessions}\n`);
    out.write(
      `minute rollup rows before ${day(report.cutoffs.minuteRollups)} (minuteRollupDays ${config.minuteRollupDays}): ${verb} ${c.minuteRows}\n`,
    );
    out.write(
      `hourly rollup rows before ${day(report.cutoffs.hourlyRollups)} (hourlyRollupDays ${config.hourlyRollupDays}): ${verb} ${c.hourRows}\n`,
    );
    out.write(`moments ended before ${day(report.cutoffs.hourlyRollups)}: ${verb} ${c.moments}\n`);
  } finally {
    await store.close();
  }
  return 0;
}
