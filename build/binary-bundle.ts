// Stages what pkg puts into the executable's virtual filesystem, laid out as dist/ is: the command as one
// CommonJS script (pkg's SEA bootstrap runs CommonJS; ESM would need the entry to be loaded through its
// experimental vm loader), the writer thread as a second one beside it, the SQL migrations as files under
// migrations/sqlite and migrations/postgres (every .sql the folders hold), the dashboard's built files under web/, and a package.json
// naming them for pkg. The better-sqlite3 addon is added per target (stageAddon). The code then finds each
// file beside itself exactly as it does in dist/, through pkg's virtual fs.
import { copyFileSync, cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { asciiOnly } from './ascii-source.ts';
import { buildWeb } from './web.ts';
import { gitCommit } from './bundle.ts';

/** Name of the addon beside the scripts; the `bindings` stand-in below loads it from there. */
const ADDON = 'better_sqlite3.node';

/**
 * better-sqlite3 finds its addon through the `bindings` package, which searches build folders on disk. In the
 * executable the addon sits beside the script in pkg's virtual filesystem; pkg's process.dlopen copies it to
 * a real file (under $PKG_NATIVE_CACHE_PATH, else ~/.cache/pkg/<sha256>/) and loads that, in each thread.
 */
const addonBeside: Plugin = {
  name: 'm3w-addon-beside',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'm3w-addon-beside' }));
    b.onLoad({ filter: /.*/, namespace: 'm3w-addon-beside' }, () => ({
      loader: 'js',
      contents: `module.exports = function bindings(name) {
  if (name !== ${JSON.stringify(ADDON)}) throw new Error('m3w executable: no addon named ' + name);
  const addon = { exports: {} };
  try {
    process.dlopen(addon, require('node:path').join(__dirname, name));
  } catch (err) {
    // The addon is compiled on Debian 12: an older C library is a failure a person can fix by upgrading.
    const hint = /GLIBC/.test(err.message)
      ? ' (this m3w needs glibc 2.34 or newer: Debian 12, Ubuntu 22.04, Raspberry Pi OS bookworm)'
      : /EACCES|EROFS|ENOENT/.test(err.code || err.message)
        ? ' (the SQLite engine is unpacked under ~/.cache/pkg; set PKG_NATIVE_CACHE_PATH to a writable folder)'
        : '';
    throw new Error('cannot load the SQLite engine: ' + err.message + hint, { cause: err });
  }
  return addon.exports;
};`,
    }));
  },
};

/** Bundles and stages the app into `appDir`; returns its package.json, the input pkg takes. */
export async function stageApp(root: string, appDir: string, version: string): Promise<string> {
  const common: BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [addonBeside],
    // import.meta does not exist in CommonJS; the script's own location (inside pkg's virtual filesystem in the
    // executable) is what the code resolves its neighbours against, as an ESM module's URL would be.
    define: { 'import.meta.url': '__m3wModuleUrl', __M3W_COMMIT__: JSON.stringify(gitCommit()) },
    banner: { js: "var __m3wModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  };
  mkdirSync(appDir, { recursive: true });
  await Promise.all([
    build({ ...common, entryPoints: ['src/binary-main.ts'], outfile: path.join(appDir, 'm3w.js') }),
    build({
      ...common,
      entryPoints: ['src/store/sqlite/writer-worker.ts'],
      outfile: path.join(appDir, 'writer-worker.js'),
    }),
    buildWeb(path.join(appDir, 'web')),
  ]);
  for (const name of ['m3w.js', 'writer-worker.js']) asciiOnly(path.join(appDir, name));

  // Whatever the folder holds, so a new migration file needs no change here.
  for (const set of ['sqlite', 'postgres']) {
    const migrations = path.join(appDir, 'migrations', set);
    mkdirSync(migrations, { recursive: true });
    const source = path.join(root, 'migrations', set);
    for (const f of readdirSync(source).filter((name) => name.endsWith('.sql')))
      cpSync(path.join(source, f), path.join(migrations, f));
  }

  const manifest = path.join(appDir, 'package.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      name: 'm3w',
      version,
      private: true,
      bin: 'm3w.js',
      // Neither is reached by a require() that pkg's walker could follow: it embeds them as listed.
      pkg: { assets: ['writer-worker.js', 'migrations/sqlite/*.sql', 'migrations/postgres/*.sql', 'web/**/*', ADDON] },
    }),
  );
  return manifest;
}

/** Puts the addon compiled for one target beside the scripts (replacing the previous target's). */
export function stageAddon(appDir: string, addon: string): void {
  copyFileSync(addon, path.join(appDir, ADDON));
}
