// Builds the dashboard and the player pages (web/) into dist/web/: JS and CSS bundles with content-hashed names (so they can
// be cached forever), index.html pointing at them, a .gz and a .br beside every file (compressed once here, not
// per request), and manifest.json describing each file for the server. The manifest also records a digest of
// the sources, so a build whose sources have not changed can be skipped (tests call ensureWebBuilt()).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
export const WEB_OUT_DIR = path.join(root, 'dist', 'web');

/** One served file, as the server needs it. Paths are URL paths ("/index.html", "/assets/app-3F2A….js"). */
export interface WebManifestEntry {
  type: string;
  bytes: number;
  gzipBytes: number;
  brotliBytes: number;
  /** Strong ETag: the first 16 bytes of the SHA-256 of the content, hex. */
  etag: string;
  /** Hashed names never change content, so they may be cached for a year. */
  immutable: boolean;
}

export interface WebManifest {
  sourceDigest: string;
  /** The bundles index.html loads first, for the first-load budget. */
  entry: { js: string; css: string };
  /** The bundles player.html (/watch, /embed) loads. */
  player: { js: string; css: string };
  /** Everything a first visit to the dashboard loads: index.html, its CSS, its JS and the chunks that imports. */
  firstLoad: string[];
  files: Record<string, WebManifestEntry>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
};

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(path.join(dir, d.name)) : [path.join(dir, d.name)],
  );
}

/** Digest of everything the web build reads: web/ sources, this script, and the uPlot, hls.js and tus versions. */
export function webSourceDigest(): string {
  const h = createHash('sha256');
  const inputs = [
    ...listFiles(path.join(root, 'web')),
    fileURLToPath(import.meta.url),
    path.join(root, 'node_modules/uplot/package.json'),
    path.join(root, 'node_modules/hls.js/package.json'),
    path.join(root, 'node_modules/tus-js-client/package.json'),
  ];
  for (const f of inputs.sort()) {
    h.update(path.relative(root, f));
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 32);
}

function compress(body: Buffer): { gz: Buffer; br: Buffer } {
  return {
    gz: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
    }),
  };
}

export async function buildWeb(outDir = WEB_OUT_DIR): Promise<WebManifest> {
  const sourceDigest = webSourceDigest();
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari15'],
    minify: true,
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'warning',
  } satisfies BuildOptions;
  // The dashboard and the player pages (hls.js stays in the player's bundle); shared and lazily loaded code
  // (the tus client, only on the Videos page) goes to chunks, so neither first load carries the other's weight.
  const result = await build({
    ...common,
    entryPoints: { app: 'web/src/main.ts', player: 'web/player/main.ts' },
    outdir: 'dist/web/assets',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    splitting: true,
    format: 'esm',
  });
  // The QoE SDK for other sites: one classic script at a stable URL, window.M3W.
  const sdk = await build({
    ...common,
    entryPoints: ['web/sdk/m3w-web.ts'],
    outfile: 'dist/web/sdk/m3w-web.js',
    format: 'iife',
    globalName: 'M3W',
  });
  const outputs = new Map<string, Buffer>();
  const entries: Record<string, { js: string; css: string; chunks: string[] }> = {};
  for (const f of result.outputFiles) {
    const urlPath = `/assets/${path.basename(f.path)}`;
    outputs.set(urlPath, Buffer.from(f.contents));
    const meta = result.metafile.outputs[path.relative(root, f.path)];
    const name = /^(app|player)-/.exec(path.basename(f.path))?.[1];
    if (meta?.entryPoint && name) {
      entries[name] = {
        js: urlPath,
        css: meta.cssBundle ? `/assets/${path.basename(meta.cssBundle)}` : '',
        // Shared chunks it imports statically load with it; dynamic imports (the Videos page) do not.
        chunks: meta.imports
          .filter((i) => i.kind === 'import-statement' && !i.external)
          .map((i) => `/assets/${path.basename(i.path)}`),
      };
    }
  }
  for (const f of sdk.outputFiles) outputs.set('/sdk/m3w-web.js', Buffer.from(f.contents));
  const app = entries.app;
  const player = entries.player;
  if (!app?.css || !player?.css) throw new Error('web build: expected a .js and a .css bundle for app and player');
  const js = app.js;
  const css = app.css;
  const html = readFileSync(path.join(root, 'web', 'index.html'), 'utf8')
    .replace('%APP_CSS%', css)
    .replace('%APP_JS%', js);
  outputs.set('/index.html', Buffer.from(html));
  const playerHtml = readFileSync(path.join(root, 'web', 'player.html'), 'utf8')
    .replace('%PLAYER_CSS%', player.css)
    .replace('%PLAYER_JS%', player.js);
  outputs.set('/player.html', Buffer.from(playerHtml));
  const favicon = path.join(root, 'web', 'favicon.svg');
  if (existsSync(favicon)) outputs.set('/favicon.svg', readFileSync(favicon));

  // Written beside, then swapped in, so a server starting meanwhile never reads half a build.
  const staging = `${outDir}.${process.pid}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const files: Record<string, WebManifestEntry> = {};
  for (const [urlPath, body] of outputs) {
    const file = path.join(staging, urlPath);
    mkdirSync(path.dirname(file), { recursive: true });
    const { gz, br } = compress(body);
    writeFileSync(file, body);
    writeFileSync(`${file}.gz`, gz);
    writeFileSync(`${file}.br`, br);
    files[urlPath] = {
      type: TYPES[path.extname(urlPath)] ?? 'application/octet-stream',
      bytes: body.length,
      gzipBytes: gz.length,
      brotliBytes: br.length,
      etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
      immutable: urlPath.startsWith('/assets/'),
    };
  }
  const firstLoad = ['/index.html', css, js, ...app.chunks];
  const manifest: WebManifest = {
    sourceDigest,
    entry: { js, css },
    player: { js: player.js, css: player.css },
    firstLoad,
    files,
  };
  writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);
  return manifest;
}

/** Builds unless dist/web already holds a build of exactly these sources. */
export async function ensureWebBuilt(outDir = WEB_OUT_DIR): Promise<WebManifest> {
  const manifestFile = path.join(outDir, 'manifest.json');
  if (existsSync(manifestFile) && statSync(manifestFile).isFile()) {
    const current = JSON.parse(readFileSync(manifestFile, 'utf8')) as WebManifest;
    if (current.sourceDigest === webSourceDigest()) return current;
  }
  return buildWeb(outDir);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  const m = await buildWeb();
  const first = m.firstLoad.reduce((sum, f) => sum + m.files[f]!.gzipBytes, 0);
  const player =
    m.files[m.player.js]!.gzipBytes + m.files[m.player.css]!.gzipBytes + m.files['/player.html']!.gzipBytes;
  console.log(
    `built dist/web in ${Math.round(performance.now() - started)} ms; first load ${first} bytes gzipped ` +
      `(player pages ${player}, SDK ${m.files['/sdk/m3w-web.js']!.gzipBytes})`,
  );
}
