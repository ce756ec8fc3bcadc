// A stranger's attacks on the video library's outside surfaces (real server, real ffmpeg): each finding that was
// fixed keeps a test here that failed before the fix.
import { copyFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { needs, FFMPEG } from '../helpers/requirements.ts';
import { makeTempDir, postSessions, sdkSession, startTestServer, type TestServer } from '../helpers/server.ts';
import { MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

describe.skipIf(!needs('ffmpeg'))('attacks on the video library', () => {
  let ts: TestServer;
  let admin: string;
  let work: string;
  let secret: string;

  beforeAll(async () => {
    work = makeTempDir('m3w-attack-src-');
    ts = await startTestServer({ ...MEDIA_CONFIG });
    admin = (await setupAdmin(ts)).accessToken;
    // A video the uploader must not be able to read: another app's source, or any media file on the machine.
    secret = await makeVideo(FFMPEG, work, 'secret', { width: 320, height: 180, seconds: 1, audio: null });
  });
  afterAll(async () => {
    await ts?.close();
  });

  async function videoCount(): Promise<number> {
    const r = await call(ts, 'GET', '/api/v1/videos?limit=200', { token: admin });
    return (r.json!.videos as unknown[]).length;
  }

  // Before the fix ffprobe (and then ffmpeg) followed the playlist into the local file and the "upload" was
  // transcoded: a way to read any media file m3w's user can read, another app's videos included.
  test('an HLS playlist pointing at a local file is refused, and nothing of it is kept', async () => {
    const playlist = path.join(work, 'playlist.mp4');
    writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\nfile://${secret}\n#EXT-X-ENDLIST\n`);
    const before = await videoCount();
    const r = await uploadFile(ts, admin, playlist);
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await videoCount()).toBe(before);
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
  });

  // concat's "safe" mode only allows relative names: those are resolved next to the upload, where the other
  // uploads in progress (of every app) live under their ids.
  test('an ffconcat list naming a neighbouring upload is refused', async () => {
    const uploads = path.join(ts.dir, 'media', 'uploads');
    const neighbour = 'OtherAppsUpload123';
    copyFileSync(secret, path.join(uploads, neighbour));
    const list = path.join(work, 'list.mp4');
    writeFileSync(list, `ffconcat version 1.0\nfile ${neighbour}\nduration 1\n`);
    const r = await uploadFile(ts, admin, list);
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    rmSync(path.join(uploads, neighbour));
  });

  // Before the fix the player's QoE credential kept ingesting sessions for a deleted video until it expired
  // (up to playbackUrlTtlSeconds), while the playback URLs it came with already answered 403.
  test('the QoE credential of a deleted video is refused, like its playback URLs', async () => {
    const up = await uploadFile(ts, admin, secret);
    expect(up.status).toBe(202);
    const id = up.json.id as string;
    expect((await waitForVideo(ts, admin, id)).status).toBe('ready');
    const grant = await call(ts, 'POST', `/api/v1/videos/${id}/playback`, { token: admin });
    expect(grant.status).toBe(200);
    const headers = { authorization: `Bearer ${grant.json!.qoe.token}` };
    const report = (sessionId: string) => postSessions(ts.url, sdkSession({ sessionId, contentId: id }), { headers });
    expect((await report('before-delete')).status).toBe(200);
    expect((await call(ts, 'DELETE', `/api/v1/videos/${id}`, { token: admin })).status).toBe(204);
    expect((await fetch(grant.json!.url)).status).toBe(403);
    const after = await report('after-delete');
    expect(after.status).toBe(403);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  const tus = (
    server: TestServer,
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: RequestInit['body'],
  ) =>
    fetch(new URL(url, server.url), {
      method,
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  // Before the fix @tus/server answered 501 and m3w logged it as an internal error ("it has been logged").
  test('tus Upload-Concat (not supported) is a clear 400, and creates nothing', async () => {
    const before = await videoCount();
    for (const concat of ['partial', 'final;/api/v1/uploads/aaaaaaaaaa /api/v1/uploads/bbbbbbbbbb']) {
      const r = await tus(ts, 'POST', '/api/v1/uploads?app=default', {
        'upload-length': '10',
        'upload-concat': concat,
      });
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('INVALID_SCHEMA');
      expect(body.error.message).toMatch(/Upload-Concat/);
    }
    expect(await videoCount()).toBe(before);
  });
});

// A tus PATCH sent without Content-Length (chunked) was checked against the free-disk margin only once, with 0
// bytes announced: uploads created together could then fill the disk past minFreeDiskBytes. A chunked multipart
// upload is checked the same way while it is written.
describe.skipIf(!needs('ffmpeg'))('uploads keep the free-disk margin while bytes arrive', () => {
  let ts: TestServer;
  let admin: string;
  const MB = 1024 * 1024;

  beforeAll(async () => {
    ts = await startTestServer({ ...MEDIA_CONFIG });
    admin = (await setupAdmin(ts)).accessToken;
  });
  afterAll(async () => {
    await ts?.close();
  });

  const tus = (method: string, url: string, headers: Record<string, string>, body?: RequestInit['body']) =>
    fetch(new URL(url, ts.url), {
      method,
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0', ...headers },
      body,
      duplex: 'half',
    } as RequestInit);

  /** Zeros as a stream: fetch sends it chunked, without Content-Length. */
  function chunked(bytes: number): ReadableStream<Uint8Array> {
    let sent = 0;
    return new ReadableStream({
      pull(c) {
        if (sent >= bytes) return c.close();
        const n = Math.min(MB, bytes - sent);
        sent += n;
        c.enqueue(new Uint8Array(n));
      },
    });
  }

  test('a chunked PATCH that would eat into the margin is stopped with 507', async () => {
    const created = await tus('POST', '/api/v1/uploads?app=default', { 'upload-length': String(30 * MB) });
    expect(created.status).toBe(201);
    const url = created.headers.get('location')!;
    // Since the upload was created the disk filled up (other uploads, other programs): 12 MB above the margin.
    const s = statfsSync(ts.dir);
    ts.config.minFreeDiskBytes = s.bavail * s.bsize - 12 * MB;
    const res = await tus(
      'PATCH',
      url,
      { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      chunked(30 * MB),
    );
    const body = (await res.json()) as { error: { code: string } };
    expect(res.status).toBe(507);
    expect(body.error.code).toBe('INSUFFICIENT_STORAGE');
    ts.config.minFreeDiskBytes = 0;
    // What arrived is kept (the client may resume when there is room), and it stopped short of the whole.
    const head = await tus('HEAD', url, {});
    expect(Number(head.headers.get('upload-offset'))).toBeLessThan(30 * MB);
    expect((await tus('DELETE', url, {})).status).toBe(204);
  }, 60_000);

  test('a chunked multipart upload that would eat into the margin is stopped with 507, and nothing is kept', async () => {
    const boundary = 'm3wmarginboundary';
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.mp4"\r\n` +
        'content-type: video/mp4\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    let sent = -1;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent < 0) {
          sent = 0;
          return c.enqueue(new Uint8Array(head));
        }
        if (sent >= 30 * MB) {
          c.enqueue(new Uint8Array(tail));
          return c.close();
        }
        sent += MB;
        c.enqueue(new Uint8Array(MB));
      },
    });
    // 12 MB above the margin: the check before accepting passes (no length announced), the bytes must not.
    const s = statfsSync(ts.dir);
    ts.config.minFreeDiskBytes = s.bavail * s.bsize - 12 * MB;
    try {
      const res = await fetch(`${ts.url}/api/v1/videos?app=default`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
        duplex: 'half',
      } as RequestInit);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(answer)).toBe(507);
      expect(answer.error.code).toBe('INSUFFICIENT_STORAGE');
      expect(answer.error.message).toMatch(/bytes free/);
    } finally {
      ts.config.minFreeDiskBytes = 0;
    }
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
    const list = await call(ts, 'GET', '/api/v1/videos?app=default', { token: admin });
    expect(list.json!.videos).toEqual([]);
  }, 60_000);
});
