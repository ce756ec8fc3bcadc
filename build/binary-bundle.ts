// Compiles what the single-file executable runs: the whole command as one CommonJS script (a Node single
// executable application runs exactly one script, and only CommonJS), the writer thread as a second script
// that the command starts with `eval`, the SQL migrations as one JSON document, and the dashboard's built files
// (dist/web, each under its own asset name so the server reads them in place).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { buildWeb } from './web.ts';
import { EMBEDDED_ASSETS, type EmbeddedMigration } from '../src/runtime/embedded.ts';
import { gitCommit } from './bundle.ts';

export interface BinaryBundle {
  /** The script the executable runs. */
  main: string;
  /** Asset name → file, for the single executable's "assets" (the addon is added per target). */
  assets: Record<string, string>;
}

/**
 * better-sqlite3 finds its addon through the `bindings` package, which searches build folders on disk that an
 * executable does not have. Where m3w passes the addon itself (open-database.ts) `bindings` is never called;
 * for any other `new Database()` this stand-in hands over the addon embedded in the executable.
 */
function embeddedBindings(root: string): Plugin {
  const embedded = path.join(root, 'src', 'runtime', 'embedded.ts');
  return {
    name: 'm3w-embedded-bindings',
    setup(b) {
      b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'm3w-embedded-bindings' }));
      b.onLoad({ filter: /.*/, namespace: 'm3w-embedded-bindings' }, () => ({
        resolveDir: root,
        loader: 'js',
        contents: `const { sqliteAddon } = require(${JSON.stringify(embedded)});
module.exports = function bindings(name) {
  if (name !== 'better_sqlite3.node') throw new Error('m3w executable: no embedded addon named ' + name);
  return sqliteAddon();
};`,
      }));
    },
  };
}

/** Bundles into `workDir` (a scratch folder of the build) and returns the files to embed. */
export async function bundleForBinary(root: string, workDir: string): Promise<BinaryBundle> {
  const common: BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [embeddedBindings(root)],
    // import.meta does not exist in CommonJS. Inside the executable the module *is* the executable, so that
    // is what import.meta.url names (createRequire(import.meta.url) keeps working for built-in modules);
    // code that looks for files beside its module must go through src/runtime/embedded.ts instead.
    define: { 'import.meta.url': '__m3wExecutableUrl', __M3W_COMMIT__: JSON.stringify(gitCommit()) },
    banner: { js: "var __m3wExecutableUrl = require('node:url').pathToFileURL(process.execPath).href;" },
  };

  const main = path.join(workDir, 'm3w.cjs');
  const worker = path.join(workDir, EMBEDDED_ASSETS.writerWorker);
  await Promise.all([
    build({ ...common, entryPoints: ['src/runtime/binary-main.ts'], outfile: main }),
    build({ ...common, entryPoints: ['src/store/sqlite/writer-worker.ts'], outfile: worker }),
  ]);

  const migrationsDir = path.join(root, 'migrations', 'sqlite');
  const migrations: EmbeddedMigration[] = readdirSync(migrationsDir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(migrationsDir, name), 'utf8') }));
  const migrationsFile = path.join(workDir, EMBEDDED_ASSETS.sqliteMigrations);
  writeFileSync(migrationsFile, JSON.stringify(migrations));

  const webDir = path.join(workDir, 'web');
  const web = await buildWeb(webDir);
  const webAssets: Record<string, string> = {
    [`${EMBEDDED_ASSETS.webPrefix}/manifest.json`]: path.join(webDir, 'manifest.json'),
  };
  for (const urlPath of Object.keys(web.files))
    for (const suffix of ['', '.gz', '.br'])
      webAssets[`${EMBEDDED_ASSETS.webPrefix}${urlPath}${suffix}`] = path.join(webDir, `${urlPath}${suffix}`);

  return {
    main,
    assets: {
      [EMBEDDED_ASSETS.writerWorker]: worker,
      [EMBEDDED_ASSETS.sqliteMigrations]: migrationsFile,
      ...webAssets,
    },
  };
}
