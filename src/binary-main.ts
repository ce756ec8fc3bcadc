// Entry point of the single-file executable, beside the parts it composes (as src/cli/main.ts is the entry of
// the m3w command): the same command, without top-level await, because pkg's SEA bootstrap runs the
// executable's script as CommonJS, where await is not allowed at the top.
import { main } from './cli/run.ts';

// A rejection stays unhandled on purpose: Node prints it and exits 1, as src/cli/main.ts does.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
