// The executable with ffmpeg beside it, as a self-hoster unpacks it: dist/m3w-linux-x64 copied alone into an
// empty folder with the static ffmpeg and ffprobe of @ffmpeg-installer next to it, started with an empty
// environment (no PATH): it finds that ffmpeg, takes an upload and transcodes it. Runs once `npm run build`
// has produced dist/m3w-linux-x64.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/child.ts';
import { needs, requireOrSkip } from '../helpers/requirements.ts';
import { findFfmpeg, makeVideo } from './media-helpers.ts';

const X64 = fileURLToPath(new URL('../../dist/m3w-linux-x64', import.meta.url));
const require = createRequire(import.meta.url);
const staticTool = (tool: 'ffmpeg' | 'ffprobe') => {
  try {
    return path.join(path.dirname(require.resolve(`@${tool}-installer/linux-x64/package.json`)), tool);
  } catch {
    return null;
  }
};
const FFMPEG = staticTool('ffmpeg');
const FFPROBE = staticTool('ffprobe');
// Through the one requirement switch: under M3W_REQUIRE_ALL=1 (CI, which builds the binary) it fails, not skips.
const canRun =
  needs('binary-x64') &&
  requireOrSkip(
    '@ffmpeg-installer/linux-x64',
    !!FFMPEG && !!FFPROBE && existsSync(FFMPEG) && existsSync(FFPROBE),
    'the static ffmpeg and ffprobe packages are not installed (npm ci)',
  );

describe.skipIf(!canRun)('the executable with ffmpeg beside it', () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  afterAll(() => {
    server?.proc.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('finds ffmpeg beside itself with no PATH, takes an upload and makes the HLS ladder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'm3w-binary-media-'));
    dirs.push(dir);
    const exe = path.join(dir, 'm3w');
    copyFileSync(X64, exe);
    copyFileSync(FFMPEG!, path.join(dir, 'ffmpeg'));
    copyFileSync(FFPROBE!, path.join(dir, 'ffprobe'));
    for (const f of ['m3w', 'ffmpeg', 'ffprobe']) spawnSync('chmod', ['755', path.join(dir, f)]);
    const env = { M3W_DATA_DIR: path.join(dir, 'data'), M3W_MIN_FREE_DISK_BYTES: '0', M3W_OPEN_BROWSER: 'false' };
    const made = spawnSync(exe, ['admin', 'create', '--email', 'a@example.com', '--password', 'binary test password'], {
      cwd: dir,
      env,
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const ff = (await findFfmpeg())!;
    const source = await makeVideo(ff.ffmpeg.path, makeDir(dirs), 'src', { width: 320, height: 180, seconds: 2 });

    server = await spawnServer({ cwd: dir, env, exactEnv: true, command: [exe], timeoutMs: 30_000 });
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@example.com', password: 'binary test password' }),
    });
    const auth = { authorization: `Bearer ${((await login.json()) as { accessToken: string }).accessToken}` };
    const form = new FormData();
    form.set('file', await openAsBlob(source), 'src.mp4');
    const up = await fetch(`${server.url}/api/v1/videos`, { method: 'POST', headers: auth, body: form });
    expect(up.status).toBe(202);
    const id = ((await up.json()) as { id: string }).id;
    let v: any;
    for (let i = 0; i < 300; i++) {
      v = await (await fetch(`${server.url}/api/v1/videos/${id}`, { headers: auth })).json();
      if (v.status === 'ready' || v.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(v.status, JSON.stringify(v)).toBe('ready');
    const health = (await (await fetch(`${server.url}/api/v1/health`)).json()) as any;
    expect(health.ffmpeg).toMatchObject({
      available: true,
      source: 'beside-executable',
      path: path.join(dir, 'ffmpeg'),
    });
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 120_000);
});

function makeDir(dirs: string[]): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'm3w-binary-src-'));
  dirs.push(d);
  return d;
}
