// kill -9 in the middle of a transcode (m3w and its ffmpeg, as in a power cut), then a restart on the same data:
// the interrupted job is re-queued, its partial files are removed, the video finishes with every rendition
// complete, and nothing is left half-published. And no upload is lost: a tus upload cut by a kill -9 resumes
// after the restart, and one whose last bytes were written just before the crash is queued at start-up (one
// abandoned for over 24 h is removed then).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, openAsBlob, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { runCli, spawnServer, type ServerProcess } from '../helpers/child.ts';
import { makeTempDir } from '../helpers/server.ts';
import { ffprobeJson, findFfmpeg, makeVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();
const EMAIL = 'admin@example.com';
const PASSWORD = 'crash test password';

async function login(url: string): Promise<string> {
  const r = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  return ((await r.json()) as { accessToken: string }).accessToken;
}

async function status(url: string, token: string, id: string): Promise<any> {
  return (await fetch(`${url}/api/v1/videos/${id}`, { headers: { authorization: `Bearer ${token}` } })).json();
}

const partials = (dir: string, id: string) =>
  existsSync(path.join(dir, 'media', 'videos', id))
    ? readdirSync(path.join(dir, 'media', 'videos', id)).filter((n) => n.endsWith('.partial'))
    : [];

describe.skipIf(!ff)('a crash during a transcode', () => {
  const servers: ServerProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.proc.kill('SIGKILL');
  });

  test('kill -9 while ffmpeg runs, restart: the job is re-queued and the video finishes complete', async () => {
    const dir = makeTempDir('m3w-crash-media-');
    writeFileSync(
      path.join(dir, 'm3w.config.json'),
      JSON.stringify({
        minFreeDiskBytes: 0,
        openBrowser: false,
        transcode: { encoder: 'libx264', preset: 'veryfast', concurrency: 1, stallSeconds: 60 },
      }),
    );
    const env = { M3W_DATA_DIR: dir };
    expect(runCli(['admin', 'create', '--email', EMAIL, '--password', PASSWORD], { cwd: dir, env }).status).toBe(0);
    const source = await makeVideo(ff!.ffmpeg.path, dir, 'source', { width: 854, height: 480, seconds: 5 });

    const first = await spawnServer({ cwd: dir, env });
    servers.push(first);
    let token = await login(first.url);
    const form = new FormData();
    form.set('title', 'Crash');
    form.set('file', await openAsBlob(source), 'source.mp4');
    const up = (await (
      await fetch(`${first.url}/api/v1/videos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      })
    ).json()) as any;
    expect(up.status).toBe('queued');
    const id = up.id as string;

    // Wait until ffmpeg is writing a rendition, then pull the plug on m3w and its ffmpeg.
    const until = Date.now() + 30_000;
    let children: string[] = [];
    for (;;) {
      const v = await status(first.url, token, id);
      children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(first.proc.pid)], { encoding: 'utf8' })
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
      if (v.status === 'processing' && v.progress > 0 && children.length > 0 && partials(dir, id).length > 0) break;
      if (Date.now() > until) throw new Error(`never saw the transcode running: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.proc.kill('SIGKILL');
    for (const pid of children) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
    await first.exited;
    expect(partials(dir, id).length).toBeGreaterThan(0);

    const second = await spawnServer({ cwd: dir, env });
    servers.push(second);
    expect(second.output()).toContain('interrupted transcode jobs re-queued');
    token = await login(second.url);
    const deadline = Date.now() + 120_000;
    let v: any;
    for (;;) {
      v = await status(second.url, token, id);
      if (v.status === 'ready' || v.status === 'failed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(v.renditions.map((r: any) => r.height)).toEqual([240, 360, 480]);
    expect(partials(dir, id)).toEqual([]);
    expect(readdirSync(path.join(dir, 'media', 'uploads'))).toEqual([]);

    // Every rendition complete: ffprobe reads the whole ladder through a signed URL, for the full duration.
    const grant = (await (
      await fetch(`${second.url}/api/v1/videos/${id}/playback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as any;
    const probed = await ffprobeJson(ff!.ffprobe.path, grant.url);
    const heights = probed.streams.filter((s: any) => s.codec_type === 'video').map((s: any) => s.height);
    expect(heights.sort((a: number, b: number) => a - b)).toEqual([240, 360, 480]);
    expect(Number(probed.format.duration)).toBeGreaterThan(4.5);

    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);
});

describe.skipIf(!ff)('a crash during tus uploads', () => {
  const servers: ServerProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.proc.kill('SIGKILL');
  });

  test('kill -9, restart: a half-sent upload resumes where it stopped; one fully written but not queued is queued; one abandoned for a day goes', async () => {
    const dir = makeTempDir('m3w-crash-tus-');
    writeFileSync(
      path.join(dir, 'm3w.config.json'),
      JSON.stringify({
        minFreeDiskBytes: 0,
        openBrowser: false,
        transcode: { encoder: 'libx264', preset: 'ultrafast', concurrency: 1, stallSeconds: 60 },
      }),
    );
    const env = { M3W_DATA_DIR: dir };
    expect(runCli(['admin', 'create', '--email', EMAIL, '--password', PASSWORD], { cwd: dir, env }).status).toBe(0);
    const bytes = readFileSync(await makeVideo(ff!.ffmpeg.path, dir, 'clip', { width: 320, height: 180, seconds: 2 }));
    const half = Math.floor(bytes.length / 2);

    const first = await spawnServer({ cwd: dir, env });
    servers.push(first);
    let token = await login(first.url);
    const tus = (url: string, method: string, headers: Record<string, string> = {}, body?: Uint8Array) =>
      fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...headers },
        body,
      });
    const create = async (base: string, title: string) => {
      const r = await tus(`${base}/api/v1/uploads?app=default`, 'POST', {
        'upload-length': String(bytes.length),
        'upload-metadata': `title ${Buffer.from(title).toString('base64')}`,
      });
      expect(r.status).toBe(201);
      return new URL(r.headers.get('location')!, base).pathname;
    };
    const patch = (base: string, where: string, offset: number, chunk: Uint8Array) =>
      tus(
        `${base}${where}`,
        'PATCH',
        { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        chunk,
      );

    const resumed = await create(first.url, 'Resumed after a crash');
    expect((await patch(first.url, resumed, 0, bytes.subarray(0, half))).status).toBe(204);
    const finished = await create(first.url, 'Finished before the crash');
    expect((await patch(first.url, finished, 0, bytes.subarray(0, half))).status).toBe(204);
    const abandoned = await create(first.url, 'Abandoned');
    expect((await patch(first.url, abandoned, 0, bytes.subarray(0, half))).status).toBe(204);
    first.proc.kill('SIGKILL');
    await first.exited;
    // The third one last received bytes 25 hours ago: abandoned, it goes at the next start.
    const abandonedId = abandoned.split('/').pop()!;
    const db = new Database(path.join(dir, 'm3w.db'));
    db.prepare('UPDATE videos SET updated_at = ? WHERE id = ?').run(Date.now() - 25 * 3_600_000, abandonedId);
    db.close();
    // The crash came after the store wrote the last bytes of the second upload, before it could be queued.
    const finishedId = finished.split('/').pop()!;
    appendFileSync(path.join(dir, 'media', 'uploads', finishedId), bytes.subarray(half));

    const second = await spawnServer({ cwd: dir, env });
    servers.push(second);
    token = await login(second.url);
    const resumedId = resumed.split('/').pop()!;
    expect((await status(second.url, token, abandonedId)).error.code).toBe('NOT_FOUND');
    expect(await status(second.url, token, resumedId)).toMatchObject({
      status: 'uploading',
      title: 'Resumed after a crash',
    });
    const head = await tus(`${second.url}${resumed}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('upload-offset'))).toBe(half);
    const last = await patch(second.url, resumed, half, bytes.subarray(half));
    expect(last.status).toBe(204);
    expect(last.headers.get('x-video-id')).toBe(resumedId);

    for (const id of [resumedId, finishedId]) {
      const deadline = Date.now() + 60_000;
      let v: any;
      for (;;) {
        v = await status(second.url, token, id);
        if (v.status === 'ready' || v.status === 'failed' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(v, JSON.stringify(v)).toMatchObject({
        status: 'ready',
        width: 320,
        height: 180,
        durationMs: expect.any(Number),
      });
    }
    expect(readdirSync(path.join(dir, 'media', 'uploads')), `resumed ${resumedId}, finished ${finishedId}`).toEqual([]);
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
