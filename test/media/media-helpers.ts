// Helpers for the video-library tests: real ffmpeg makes the source videos (testsrc2 + sine, tiny and short so
// a transcode takes a second or two), uploads go through the real HTTP API, waits poll the real status route.
import { execFile } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { discoverFfmpeg, type FfmpegInfo } from '../../src/media/index.ts';
import { call } from '../helpers/accounts.ts';
import { requireOrSkip } from '../helpers/requirements.ts';
import type { TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

/** ffmpeg for the tests: M3W_TEST_FFMPEG (e.g. the @ffmpeg-installer binary, for a second run) or the usual search. */
export async function findFfmpeg(): Promise<FfmpegInfo | null> {
  const info = await discoverFfmpeg({ ffmpegPath: process.env.M3W_TEST_FFMPEG || null, encoder: 'libx264' });
  // Through the one requirement switch: under M3W_REQUIRE_ALL=1 (CI) a missing ffmpeg fails the suite.
  requireOrSkip(
    'ffmpeg',
    info !== null,
    `no ffmpeg/ffprobe with libx264 found${process.env.M3W_TEST_FFMPEG ? ` at M3W_TEST_FFMPEG=${process.env.M3W_TEST_FFMPEG}` : ''} (install ffmpeg)`,
  );
  return info;
}

export interface SourceSpec {
  width: number;
  height: number;
  seconds: number;
  /** ffmpeg video encoder args; default H.264. */
  video?: string[];
  /** ffmpeg audio encoder args; null: no audio. */
  audio?: string[] | null;
  ext?: string;
  extra?: string[];
}

/** Makes a test video with ffmpeg's own sources. */
export async function makeVideo(ffmpeg: string, dir: string, name: string, spec: SourceSpec): Promise<string> {
  const file = path.join(dir, `${name}.${spec.ext ?? 'mp4'}`);
  const audio =
    spec.audio === null ? [] : ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${spec.seconds}`];
  await run(ffmpeg, [
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${spec.width}x${spec.height}:rate=25:duration=${spec.seconds}`,
    ...audio,
    ...(spec.video ?? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50']),
    ...(spec.audio === null ? [] : (spec.audio ?? ['-c:a', 'aac', '-b:a', '96k', '-ac', '2'])),
    ...(spec.extra ?? []),
    file,
  ]);
  return file;
}

/** POST /api/v1/videos as multipart/form-data, the file streamed from disk. */
export async function uploadFile(
  ts: TestServer,
  token: string,
  file: string,
  fields: Record<string, string> = {},
  filename = path.basename(file),
): Promise<{ status: number; json: Record<string, any> }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', await openAsBlob(file), filename);
  const res = await fetch(`${ts.url}/api/v1/videos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

export async function getVideo(ts: TestServer, token: string, id: string) {
  return call(ts, 'GET', `/api/v1/videos/${id}`, { token });
}

/** Polls the video until `done` holds (or fails the test after `timeoutMs`). */
export async function waitForVideo(
  ts: TestServer,
  token: string,
  id: string,
  done: (v: Record<string, any>) => boolean = (v) => v.status === 'ready' || v.status === 'failed',
  timeoutMs = 60_000,
): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await getVideo(ts, token, id);
    if (r.status === 200 && done(r.json!)) return r.json!;
    if (Date.now() > until) throw new Error(`video ${id} still ${JSON.stringify(r.json)} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function ffprobeJson(ffprobe: string, target: string): Promise<any> {
  const { stdout } = await run(ffprobe, [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    target,
  ]);
  return JSON.parse(stdout);
}

/** Config for media tests: tiny free-disk margin so a nearly full CI disk does not refuse the uploads. */
export const MEDIA_CONFIG = {
  ffmpegPath: process.env.M3W_TEST_FFMPEG || null,
  minFreeDiskBytes: 0,
  transcode: { encoder: 'libx264', preset: 'ultrafast' as const, concurrency: 1, stallSeconds: 60 },
};
