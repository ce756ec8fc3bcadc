// The transcode queue when ffmpeg misbehaves: ffmpeg runs at nice 10; a stalled ffmpeg (SIGSTOP: no progress) is
// killed by the watchdog after stallSeconds and retried; a job that fails three times fails the video with
// ffmpeg's last error lines, and POST /api/v1/videos/{id}/retry runs only the failed jobs again; deleting a video
// kills its ffmpeg.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();

/** ffmpeg processes this test process started (the server runs in it). */
const ffmpegChildren = (): number[] =>
  execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /ffmpeg/.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));

describe.skipIf(!ff)('transcode watchdog and retries', () => {
  let ts: TestServer;
  let admin: string;
  let source: string;

  beforeAll(async () => {
    const work = makeTempDir('m3w-watchdog-src-');
    ts = await startTestServer({
      ...MEDIA_CONFIG,
      transcode: { ...MEDIA_CONFIG.transcode, preset: 'veryfast', stallSeconds: 2 },
    });
    admin = (await setupAdmin(ts)).accessToken;
    source = await makeVideo(ff!.ffmpeg.path, work, 'clip', { width: 640, height: 360, seconds: 4 });
  }, 60_000);
  afterAll(async () => {
    await ts?.close();
  });

  test('ffmpeg runs at nice 10; a stalled one is killed after stallSeconds and the job retried to completion', async () => {
    const up = await uploadFile(ts, admin, source);
    let stopped: number[] = [];
    const until = Date.now() + 20_000;
    while (stopped.length === 0 && Date.now() < until) {
      stopped = ffmpegChildren();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stopped.length).toBeGreaterThan(0);
    // ffmpeg runs at low priority (nice 10), so a transcode never starves the server on a small machine.
    for (const pid of stopped)
      expect(execFileSync('ps', ['-o', 'ni=', '-p', String(pid)], { encoding: 'utf8' }).trim()).toBe('10');
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    const v = await waitForVideo(ts, admin, up.json.id);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    const stalls = ts.logs.filter(
      (l) => l.msg === 'transcode job failed' && /no progress for 2 s/.test(String(l.message)),
    );
    expect(stalls.length).toBeGreaterThan(0);
    const jobs = await ts.server.store.videos.listVideoJobs(up.json.id);
    expect(jobs.some((j) => j.attempts === 2)).toBe(true);
  });

  test('deleting a video while its ffmpeg runs stops that ffmpeg at once and leaves no file of it', async () => {
    const up = await uploadFile(ts, admin, source, { title: 'deleted mid-transcode' });
    const id = up.json.id as string;
    let running: number[] = [];
    const until = Date.now() + 20_000;
    while (running.length === 0 && Date.now() < until) {
      running = ffmpegChildren();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(running.length).toBeGreaterThan(0);
    // Stopped, it cannot die of its folder being removed, and the watchdog (2 s here) is not due yet: only the
    // delete itself can end it this fast.
    for (const pid of running) process.kill(pid, 'SIGSTOP');
    expect((await call(ts, 'DELETE', `/api/v1/videos/${id}`, { token: admin })).status).toBe(204);
    await expect.poll(() => ffmpegChildren().length, { timeout: 800, interval: 20 }).toBe(0);
    // Nothing is published late, and no job of the deleted video is started again.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(ffmpegChildren()).toEqual([]);
    expect(existsSync(path.join(ts.dir, 'media', 'videos', id))).toBe(false);
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
    expect(await ts.server.store.videos.listVideoJobs(id)).toEqual([]);
  });

  test("three failures fail the video with ffmpeg's error; retry runs only the failed jobs", async () => {
    const up = await uploadFile(ts, admin, source, { title: 'will fail' });
    const id = up.json.id as string;
    const stored = path.join(ts.dir, 'media', 'videos', id, 'source');
    const aside = `${stored}.aside`;
    renameSync(stored, aside);
    const failed = await waitForVideo(ts, admin, id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/No such file|source/);
    // The first job may have opened the source before it was moved; every later one fails three times.
    const jobs = await ts.server.store.videos.listVideoJobs(id);
    const failedJobs = jobs.filter((j) => j.status === 'failed');
    expect(failedJobs.length).toBeGreaterThanOrEqual(jobs.length - 1);
    for (const j of failedJobs) expect(j.attempts).toBe(3);
    const doneBefore = jobs.filter((j) => j.status === 'done');

    copyFileSync(aside, stored);
    const retried = await call(ts, 'POST', `/api/v1/videos/${id}/retry`, { token: admin });
    expect(retried.status).toBe(200);
    expect(retried.json!.retried).toBe(failedJobs.length);
    const v = await waitForVideo(ts, admin, id);
    expect(v.status).toBe('ready');
    const after = await ts.server.store.videos.listVideoJobs(id);
    // Jobs that had succeeded were not run again.
    for (const d of doneBefore) expect(after.find((j) => j.id === d.id)!.updatedAt).toBe(d.updatedAt);
    for (const j of after) expect(j).toMatchObject({ status: 'done', attempts: 1 });
    expect(v.error).toBeUndefined();
    expect((await call(ts, 'POST', `/api/v1/videos/${id}/retry`, { token: admin })).json!.retried).toBe(0);
  });
});
