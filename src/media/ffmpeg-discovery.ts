// Finds ffmpeg and ffprobe in the order the product promises (config/env, beside the executable, ffmpeg-static,
// the @ffmpeg-installer packages, PATH), reads their version and finds which H.264 encoders really work: a
// hardware encoder is trusted only after a one-second test encode succeeds (a Raspberry Pi 5 lists
// h264_v4l2m2m but has none). The answer is cached per ffmpeg path for the life of the process.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const HARDWARE_ENCODERS = ['h264_v4l2m2m', 'h264_vaapi', 'h264_nvenc', 'h264_qsv'] as const;

export interface FfmpegTool {
  path: string;
  /** Where it was found: config, env, beside-executable, ffmpeg-static, @ffmpeg-installer, PATH. */
  source: string;
  version: string;
}

export interface FfmpegInfo {
  ffmpeg: FfmpegTool;
  ffprobe: FfmpegTool;
  /** H.264 encoders that passed a test encode, software last. */
  workingEncoders: string[];
  /** Listed by `ffmpeg -encoders` but failing the test encode. */
  brokenEncoders: string[];
  /** The encoder transcodes use. */
  encoder: string;
}

export interface DiscoveryOptions {
  ffmpegPath: string | null;
  /** transcode.encoder: "auto" or a name. */
  encoder: string;
  env?: NodeJS.ProcessEnv;
  execDir?: string;
}

const isExecutable = (file: string): boolean => {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const require = createRequire(import.meta.url);

function fromPackage(name: string, binary: string): string | null {
  try {
    const dir = path.dirname(require.resolve(`${name}/package.json`));
    const file = path.join(dir, binary);
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

function fromFfmpegStatic(): string | null {
  try {
    const p = require('ffmpeg-static') as unknown;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}

function onPath(binary: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, binary);
    if (isExecutable(file)) return file;
  }
  return null;
}

/** The candidates for one tool, in the promised order. */
export function toolCandidates(
  tool: 'ffmpeg' | 'ffprobe',
  opts: DiscoveryOptions,
): Array<{ path: string; source: string }> {
  const env = opts.env ?? process.env;
  const out: Array<{ path: string; source: string }> = [];
  const arch = process.arch === 'arm64' ? 'linux-arm64' : 'linux-x64';
  if (tool === 'ffmpeg') {
    // A configured ffmpeg is authoritative: a wrong path is reported, never silently replaced by another ffmpeg.
    if (opts.ffmpegPath) return [{ path: opts.ffmpegPath, source: 'config' }];
  } else {
    // ffprobe lives beside the ffmpeg that was configured.
    if (env.M3W_FFPROBE) out.push({ path: env.M3W_FFPROBE, source: 'env' });
    if (opts.ffmpegPath) out.push({ path: path.join(path.dirname(opts.ffmpegPath), 'ffprobe'), source: 'config' });
  }
  out.push({ path: path.join(opts.execDir ?? path.dirname(process.execPath), tool), source: 'beside-executable' });
  if (tool === 'ffmpeg') {
    const s = fromFfmpegStatic();
    if (s) out.push({ path: s, source: 'ffmpeg-static' });
  }
  const installer = fromPackage(`@${tool}-installer/${arch}`, tool);
  if (installer) out.push({ path: installer, source: `@${tool}-installer/${arch}` });
  const p = onPath(tool, env);
  if (p) out.push({ path: p, source: 'PATH' });
  return out;
}

function run(
  file: string,
  args: string[],
  timeoutMs: number,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

async function firstWorking(tool: 'ffmpeg' | 'ffprobe', opts: DiscoveryOptions): Promise<FfmpegTool | null> {
  for (const c of toolCandidates(tool, opts)) {
    if (!isExecutable(c.path)) continue;
    const r = await run(c.path, ['-hide_banner', '-version'], 10_000);
    const m = /version\s+(\S+)/.exec(r.stdout);
    if (r.ok && m) return { path: c.path, source: c.source, version: m[1]! };
  }
  return null;
}

/** Arguments for a one-second test encode with `encoder`. */
function testEncodeArgs(encoder: string): string[] {
  const input = ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=1'];
  if (encoder === 'h264_vaapi')
    return [
      '-vaapi_device',
      '/dev/dri/renderD128',
      ...input,
      '-vf',
      'format=nv12,hwupload',
      '-c:v',
      encoder,
      '-f',
      'null',
      '-',
    ];
  return [...input, '-pix_fmt', 'yuv420p', '-c:v', encoder, '-f', 'null', '-'];
}

async function discover(opts: DiscoveryOptions): Promise<FfmpegInfo | null> {
  const [ffmpeg, ffprobe] = await Promise.all([firstWorking('ffmpeg', opts), firstWorking('ffprobe', opts)]);
  if (!ffmpeg || !ffprobe) return null;
  const listed = await run(ffmpeg.path, ['-hide_banner', '-encoders'], 10_000);
  const names = new Set(
    listed.stdout
      .split('\n')
      .map((l) => /^\s*V\S*\s+(\S+)/.exec(l)?.[1])
      .filter((n): n is string => !!n),
  );
  const workingEncoders: string[] = [];
  const brokenEncoders: string[] = [];
  for (const enc of [...HARDWARE_ENCODERS, 'libx264']) {
    if (!names.has(enc)) continue;
    const r = await run(ffmpeg.path, testEncodeArgs(enc), 15_000);
    (r.ok ? workingEncoders : brokenEncoders).push(enc);
  }
  let encoder = opts.encoder;
  if (encoder === 'auto') encoder = workingEncoders[0] ?? 'libx264';
  return { ffmpeg, ffprobe, workingEncoders, brokenEncoders, encoder };
}

const cache = new Map<string, Promise<FfmpegInfo | null>>();

/** ffmpeg and ffprobe as found (cached per configuration), or null when either is missing. */
export function discoverFfmpeg(opts: DiscoveryOptions): Promise<FfmpegInfo | null> {
  const key = JSON.stringify([opts.ffmpegPath, opts.encoder, opts.execDir, opts.env?.PATH, opts.env?.M3W_FFPROBE]);
  let p = cache.get(key);
  if (!p) cache.set(key, (p = discover(opts)));
  return p;
}
