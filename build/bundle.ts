// Compiles the server into dist/: one ESM bundle for the command (dist/m3w.js) and one for the session
// writer thread (dist/writer-worker.js, found beside it at run time). Only native addons stay external.
// The dashboard is built beside them into dist/web (build/web.ts).
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { asciiOnly } from './ascii-source.ts';
import { buildWeb } from './web.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The commit being built, for `m3w --version`; "unknown" outside a git checkout. */
export function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !==
      '';
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export async function bundleServer(outdir = `${root}dist`): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: { m3w: 'src/cli/main.ts', 'writer-worker': 'src/store/sqlite/writer-worker.ts' },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    define: { __M3W_COMMIT__: JSON.stringify(gitCommit()) },
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __m3wCreateRequire } from 'node:module'; const require = __m3wCreateRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  // A few characters moved in the source map's columns on their own lines: a small price for half the heap.
  for (const name of ['m3w.js', 'writer-worker.js']) asciiOnly(`${outdir}/${name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  await Promise.all([bundleServer(), buildWeb()]);
  // stderr: stdout belongs to the command that runs after the bundle (`npm run m3w -- apikey create --json`).
  console.error(
    `built dist/m3w.js, dist/writer-worker.js and dist/web in ${Math.round(performance.now() - started)} ms`,
  );
}
