// Entry point of the single-file executable. Same command as src/cli/main.ts, without top-level await:
// the executable runs one CommonJS script, where await is not allowed at the top.
import { main } from '../cli/run.ts';

// A rejection stays unhandled on purpose: Node prints it and exits 1, as src/cli/main.ts does.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
