// m3w migrate: apply pending migrations and report what was done.
import type { ResolvedConfig } from '../config/index.ts';
import { openStore, storeLocation } from '../store/index.ts';

export async function runMigrate(config: ResolvedConfig): Promise<number> {
  const store = await openStore(config);
  const { applied, alreadyApplied } = store.migrations;
  await store.close();
  for (const name of applied) process.stdout.write(`applied ${name}\n`);
  process.stdout.write(`${storeLocation(config)}: ${applied.length} applied, ${alreadyApplied} already up to date\n`);
  return 0;
}
