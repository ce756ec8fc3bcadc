// Entry point of the m3w command.
import { main } from './run.ts';

process.exitCode = await main(process.argv.slice(2));
