// Finding ffmpeg: the promised order (configured path, beside the executable, ffmpeg-static, @ffmpeg-installer,
// PATH), a configured path that is wrong reported rather than replaced, test encodes before an encoder is trusted,
// and m3w without ffmpeg: it starts, uploads answer 503 FFMPEG_UNAVAILABLE naming how to install it, health says so.
import { chmodSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { discoverFfmpeg, type FfmpegInfo } from '../../src/media/index.ts';
import { toolCandidates } from '../../src/media/ffmpeg-discovery.ts';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { runCli } from '../helpers/child.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { findFfmpeg } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();

describe('where ffmpeg is looked for', () => {
  test('configured path first (and alone); else beside the executable, the npm packages, then PATH', () => {
    const configured = toolCandidates('ffmpeg', { ffmpegPath: '/opt/ff/ffmpeg', encoder: 'auto' });
    expect(configured).toEqual([{ path: '/opt/ff/ffmpeg', source: 'config' }]);
    const probe = toolCandidates('ffprobe', { ffmpegPath: '/opt/ff/ffmpeg', encoder: 'auto', execDir: '/srv/m3w' });
    expect(probe.slice(0, 2).map((c) => c.path)).toEqual(['/opt/ff/ffprobe', '/srv/m3w/ffprobe']);
    const searched = toolCandidates('ffmpeg', {
      ffmpegPath: null,
      encoder: 'auto',
      execDir: '/srv/m3w',
      env: { PATH: '/usr/bin:/bin' },
    });
    const sources = searched.map((c) => c.source);
    expect(sources[0]).toBe('beside-executable');
    expect(searched[0]!.path).toBe('/srv/m3w/ffmpeg');
    // The packages this repository installs, before PATH.
    expect(sources.indexOf('@ffmpeg-installer/linux-x64')).toBeGreaterThan(0);
    if (sources.includes('PATH')) expect(sources.indexOf('PATH')).toBe(sources.length - 1);
  });

  test.skipIf(!ff)(
    'an ffmpeg beside the executable wins over PATH; its version and working encoders are read',
    async () => {
      const dir = makeTempDir('m3w-beside-');
      symlinkSync(ff!.ffmpeg.path, path.join(dir, 'ffmpeg'));
      symlinkSync(ff!.ffprobe.path, path.join(dir, 'ffprobe'));
      const info = (await discoverFfmpeg({
        ffmpegPath: null,
        encoder: 'auto',
        execDir: dir,
        env: { PATH: '/usr/bin' },
      }))!;
      expect(info.ffmpeg).toMatchObject({ path: path.join(dir, 'ffmpeg'), source: 'beside-executable' });
      expect(info.ffprobe.source).toBe('beside-executable');
      expect(info.ffmpeg.version).toMatch(/\d/);
      // libx264 passed its test encode; hardware encoders only appear if theirs passed too.
      expect(info.workingEncoders).toContain('libx264');
      expect(info.encoder).toBe(info.workingEncoders[0]);
    },
  );
});

/**
 * The real ffmpeg behind a script that also lists h264_v4l2m2m in `-encoders`, as a Raspberry Pi 5's ffmpeg does
 * on a board that has no such encoder: everything else (version, test encodes) is the real ffmpeg's answer.
 */
function ffmpegListingV4l2(real: FfmpegInfo): string {
  const dir = makeTempDir('m3w-pi5-ffmpeg-');
  const ffmpeg = path.join(dir, 'ffmpeg');
  writeFileSync(
    ffmpeg,
    [
      '#!/bin/sh',
      'for a in "$@"; do',
      '  if [ "$a" = "-encoders" ]; then',
      `    "${real.ffmpeg.path}" "$@" || exit $?`,
      "    echo ' V..... h264_v4l2m2m         V4L2 mem2mem H.264 encoder wrapper (codec h264)'",
      '    exit 0',
      '  fi',
      'done',
      `exec "${real.ffmpeg.path}" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(ffmpeg, 0o755);
  symlinkSync(real.ffprobe.path, path.join(dir, 'ffprobe'));
  return ffmpeg;
}

// Only where no V4L2 device exists could h264_v4l2m2m never work (on a Raspberry Pi 4 it really does).
const noV4l2 = !readdirSync('/dev').some((n) => n.startsWith('video'));

describe.skipIf(!ff || !noV4l2)('an encoder ffmpeg lists but the machine does not have (a Raspberry Pi 5)', () => {
  let fake: string;
  beforeAll(() => {
    fake = ffmpegListingV4l2(ff!);
  });

  test('is not trusted: its test encode fails, libx264 is used; transcode.encoder overrides the choice', async () => {
    const info = (await discoverFfmpeg({ ffmpegPath: fake, encoder: 'auto' }))!;
    expect(info.ffmpeg).toMatchObject({ path: fake, source: 'config' });
    expect(info.brokenEncoders).toContain('h264_v4l2m2m');
    expect(info.workingEncoders).not.toContain('h264_v4l2m2m');
    expect(info.workingEncoders).toContain('libx264');
    expect(info.encoder).toBe('libx264');
    // A configured encoder is used as configured (the owner knows their machine), whatever the test encodes say.
    const forced = (await discoverFfmpeg({ ffmpegPath: fake, encoder: 'h264_v4l2m2m' }))!;
    expect(forced.encoder).toBe('h264_v4l2m2m');
  });

  test('/api/v1/health and m3w doctor say which ffmpeg, its version, the encoders that work and those that do not', async () => {
    const ts = await startTestServer({ ffmpegPath: fake, minFreeDiskBytes: 0 });
    try {
      const h = await call(ts, 'GET', '/api/v1/health');
      expect(h.json!.ffmpeg).toMatchObject({
        available: true,
        path: fake,
        source: 'config',
        version: ff!.ffmpeg.version,
        encoder: 'libx264',
      });
      expect(h.json!.ffmpeg.workingEncoders).toContain('libx264');
      expect(h.json!.ffmpeg.brokenEncoders).toContain('h264_v4l2m2m');
    } finally {
      await ts.close();
    }
    const r = runCli(['doctor', '--port', '0'], { cwd: makeTempDir(), env: { M3W_FFMPEG: fake } });
    const line = r.stdout.split('\n').find((l) => /ffmpeg/.test(l)) ?? '';
    expect(line).toMatch(
      new RegExp(`^ok +ffmpeg ${ff!.ffmpeg.version.replace(/[.+]/g, '\\$&')} at ${fake} \\(config\\)`),
    );
    expect(line).toMatch(/H\.264 encoders that work: [^;]*libx264/);
    expect(line).toMatch(/transcoding with libx264; listed but not working: [^;]*h264_v4l2m2m/);
  });
});

describe('m3w without ffmpeg', () => {
  let ts: TestServer;
  let admin: string;
  beforeAll(async () => {
    ts = await startTestServer({ ffmpegPath: '/nonexistent/ffmpeg', minFreeDiskBytes: 0 });
    admin = (await setupAdmin(ts)).accessToken;
  });
  afterAll(async () => {
    await ts?.close();
  });

  test('starts; uploads (multipart and tus) answer 503 FFMPEG_UNAVAILABLE naming how to install it', async () => {
    const form = new FormData();
    form.set('file', new Blob([Buffer.alloc(100)]), 'a.mp4');
    const res = await fetch(`${ts.url}/api/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: form,
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe('FFMPEG_UNAVAILABLE');
    expect(body.error.message).toMatch(/apt install ffmpeg/);
    const tus = await fetch(`${ts.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0', 'upload-length': '100' },
    });
    expect(tus.status).toBe(503);
    expect((await call(ts, 'GET', '/api/v1/videos?app=default', { token: admin })).status).toBe(200);
  });

  test('/api/v1/health says ffmpeg is unavailable and how to fix it, and is still healthy', async () => {
    const h = await call(ts, 'GET', '/api/v1/health');
    expect(h.status).toBe(200);
    expect(h.json).toMatchObject({ status: 'healthy', ffmpeg: { available: false } });
    expect(h.json!.ffmpeg.hint).toMatch(/ffmpegPath/);
  });
});
