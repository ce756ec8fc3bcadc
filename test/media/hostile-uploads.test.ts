// Hostile and broken uploads: each gets a clear 4xx/5xx with the right code and a message naming the problem,
// leaves no file behind (nothing in uploads/, no folder for a refused video, no video row), and the server stays
// healthy and keeps accepting good uploads.
import { readdirSync, writeFileSync, readFileSync, truncateSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();

/** Files under media/ other than those of `keep` videos. */
function orphans(ts: TestServer, keep: string[] = []): string[] {
  const root = path.join(ts.dir, 'media');
  const found = readdirSync(path.join(root, 'uploads')).map((n) => `uploads/${n}`);
  for (const n of readdirSync(path.join(root, 'videos'))) if (!keep.includes(n)) found.push(`videos/${n}`);
  return found;
}

async function raw(ts: TestServer, token: string, body: string | Buffer, contentType: string, query = '') {
  const res = await fetch(`${ts.url}/api/v1/videos${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

async function tusCreate(ts: TestServer, token: string, headers: Record<string, string>) {
  return fetch(`${ts.url}/api/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...headers },
  });
}

async function tusPatch(url: string, token: string, offset: number, data: Buffer) {
  return fetch(url, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'tus-resumable': '1.0.0',
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    },
    body: data,
  });
}

describe.skipIf(!ff)('hostile uploads', () => {
  let ts: TestServer;
  let tight: TestServer;
  let full: TestServer;
  let admin: string;
  let tightAdmin: string;
  let fullAdmin: string;
  let work: string;
  const files: Record<string, string> = {};
  const accepted: string[] = [];

  beforeAll(async () => {
    work = makeTempDir('m3w-hostile-src-');
    [ts, tight, full] = await Promise.all([
      startTestServer({ ...MEDIA_CONFIG, maxDurationHours: 1 }),
      startTestServer({ ...MEDIA_CONFIG, maxUploadBytes: 20_000 }),
      startTestServer({ ...MEDIA_CONFIG, minFreeDiskBytes: 2 ** 50 }),
    ]);
    admin = (await setupAdmin(ts)).accessToken;
    tightAdmin = (await setupAdmin(tight)).accessToken;
    fullAdmin = (await setupAdmin(full)).accessToken;
    const f = ff!.ffmpeg.path;
    files.good = await makeVideo(f, work, 'good', { width: 320, height: 180, seconds: 1 });
    files.audioOnly = await makeVideo(f, work, 'audio', {
      width: 16,
      height: 16,
      seconds: 1,
      video: ['-vn'],
      audio: ['-c:a', 'aac'],
      ext: 'm4a',
    });
    // Moov at the end, cut in half: no index to read.
    files.truncated = await makeVideo(f, work, 'truncated', { width: 320, height: 180, seconds: 2 });
    truncateSync(files.truncated, Math.floor(statSync(files.truncated).size / 2));
    // A frame 9000 pixels wide in its header.
    files.huge = await makeVideo(f, work, 'huge', {
      width: 9000,
      height: 16,
      seconds: 0.08,
      video: ['-c:v', 'rawvideo', '-pix_fmt', 'gray'],
      audio: null,
      ext: 'nut',
    });
    // Longer than maxDurationHours (1 h), cheap: 16x16 at one frame per second.
    files.long = path.join(work, 'long.mp4');
    await makeVideo(f, work, 'long', {
      width: 16,
      height: 16,
      seconds: 3700,
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-r', '1'],
      audio: null,
      extra: ['-r', '1'],
    });
    files.text = path.join(work, 'notes.mp4');
    writeFileSync(files.text, 'This is a text file with an .mp4 name.\n'.repeat(50));
    files.empty = path.join(work, 'empty.mp4');
    writeFileSync(files.empty, '');
  }, 120_000);
  afterAll(async () => {
    await Promise.all([ts?.close(), tight?.close(), full?.close()]);
  });

  const refused = async (
    r: { status: number; json: Record<string, any> },
    status: number,
    code: string,
    words: RegExp,
  ) => {
    expect(r.status, JSON.stringify(r.json)).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message).toMatch(words);
    expect(orphans(ts, accepted)).toEqual([]);
  };

  test('1. a text file renamed .mp4: 415, not a video', async () => {
    await refused(await uploadFile(ts, admin, files.text!), 415, 'UNSUPPORTED_MEDIA_TYPE', /not a video/);
  });
  test('2. zero bytes: 400, empty', async () => {
    await refused(await uploadFile(ts, admin, files.empty!), 400, 'INVALID_SCHEMA', /empty/);
  });
  test('3. a truncated MP4: 415', async () => {
    await refused(
      await uploadFile(ts, admin, files.truncated!),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /truncated|not a video/,
    );
  });
  test('4. audio only: 415, no video stream', async () => {
    await refused(
      await uploadFile(ts, admin, files.audioOnly!, {}, 'song.mp4'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /no video stream/,
    );
  });
  test('5. huge dimensions in the header: 400 naming them', async () => {
    await refused(await uploadFile(ts, admin, files.huge!), 400, 'INVALID_SCHEMA', /9000x16/);
  });
  test('6. longer than maxDurationHours: 400 naming the limit', async () => {
    await refused(await uploadFile(ts, admin, files.long!), 400, 'INVALID_SCHEMA', /maxDurationHours/);
  });
  test('7. a form without a file part: 400', async () => {
    const form = new FormData();
    form.set('title', 'no file');
    const res = await fetch(`${ts.url}/api/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: form,
    });
    await refused(
      { status: res.status, json: (await res.json()) as Record<string, any> },
      400,
      'INVALID_SCHEMA',
      /"file"/,
    );
  });
  test('8. not multipart (JSON): 415', async () => {
    await refused(await raw(ts, admin, '{"file":"x"}', 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE', /multipart/);
  });
  test('9. multipart without a boundary: 415', async () => {
    await refused(await raw(ts, admin, 'x', 'multipart/form-data'), 415, 'UNSUPPORTED_MEDIA_TYPE', /boundary/);
  });
  test('10. a multipart body that ends early: 400, the partial file removed', async () => {
    const body = `--b0\r\ncontent-disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n${'x'.repeat(5000)}`;
    await refused(await raw(ts, admin, body, 'multipart/form-data; boundary=b0'), 400, 'INVALID_SCHEMA', /ended early/);
  });
  test('11. two file parts: 400', async () => {
    const part = (n: number) =>
      `--b1\r\ncontent-disposition: form-data; name="file"; filename="${n}.mp4"\r\n\r\nxxxx\r\n`;
    await refused(
      await raw(ts, admin, `${part(1)}${part(2)}--b1--\r\n`, 'multipart/form-data; boundary=b1'),
      400,
      'INVALID_SCHEMA',
      /exactly one/,
    );
  });
  test('12. an app the caller cannot see: 404, the received bytes deleted', async () => {
    await refused(await uploadFile(ts, admin, files.good!, { appId: 'no-such-app' }), 404, 'NOT_FOUND', /no-such-app/);
    const member = (await createUser(ts, admin, 'm@example.com', 'member', [])).accessToken;
    await refused(await uploadFile(ts, member, files.good!, { appId: 'default' }), 404, 'NOT_FOUND', /default/);
  });
  test('13. a title over 200 characters: 400', async () => {
    await refused(await uploadFile(ts, admin, files.good!, { title: 't'.repeat(201) }), 400, 'INVALID_SCHEMA', /title/);
  });
  test('14. a path-traversal filename is only a name: accepted, stored under the video id, nothing outside', async () => {
    const up = await uploadFile(ts, admin, files.good!, {}, '../../../../tmp/evil.mp4');
    expect(up.status, JSON.stringify(up.json)).toBe(202);
    accepted.push(up.json.id);
    expect(readdirSync(path.join(ts.dir, 'media', 'videos'))).toContain(up.json.id);
    expect(JSON.stringify(readdirSync(ts.dir))).not.toContain('evil');
    expect(orphans(ts, accepted)).toEqual([]);
    const v = await waitForVideo(ts, admin, up.json.id);
    expect(v.status).toBe('ready');
  });
  test('15. over maxUploadBytes (multipart): 413 naming the limit, nothing kept', async () => {
    const r = await uploadFile(tight, tightAdmin, files.truncated!);
    expect(r.status, JSON.stringify(r.json)).toBe(413);
    expect(r.json.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(r.json.error.message).toMatch(/maxUploadBytes/);
    expect(orphans(tight)).toEqual([]);
  });
  test('16. disk full (minFreeDiskBytes margin not left): 507 with the numbers, multipart and tus', async () => {
    const r = await uploadFile(full, fullAdmin, files.good!);
    expect(r.status).toBe(507);
    expect(r.json.error.code).toBe('INSUFFICIENT_STORAGE');
    expect(r.json.error.message).toMatch(/\d+ bytes free.*minFreeDiskBytes/);
    const t = await tusCreate(full, fullAdmin, { 'upload-length': '1000' });
    expect(t.status).toBe(507);
    expect(((await t.json()) as any).error.code).toBe('INSUFFICIENT_STORAGE');
    expect(orphans(full)).toEqual([]);
    expect((await call(full, 'GET', '/api/v1/videos?app=default', { token: fullAdmin })).json!.videos).toEqual([]);
  });
  test('17. tus: Upload-Length over maxUploadBytes: 413', async () => {
    const t = await tusCreate(tight, tightAdmin, { 'upload-length': '20001' });
    expect(t.status).toBe(413);
    expect(((await t.json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(orphans(tight)).toEqual([]);
  });
  test('18. tus: a PATCH at the wrong Upload-Offset: 409, the upload unharmed', async () => {
    const data = readFileSync(files.good!);
    const c = await tusCreate(ts, admin, { 'upload-length': String(data.length) });
    const url = new URL(c.headers.get('location')!, ts.url).toString();
    expect((await tusPatch(url, admin, 0, data.subarray(0, 1000))).status).toBe(204);
    const wrong = await tusPatch(url, admin, 500, data.subarray(500));
    expect(wrong.status).toBe(409);
    expect(((await wrong.json()) as any).error.message).toMatch(/offset/i);
    const right = await tusPatch(url, admin, 1000, data.subarray(1000));
    expect(right.status).toBe(204);
    const id = url.split('/').pop()!;
    accepted.push(id);
    expect(right.headers.get('x-video-id')).toBe(id);
    expect((await waitForVideo(ts, admin, id)).status).toBe('ready');
  });
  test('19. tus: no Tus-Resumable header: 412', async () => {
    const res = await fetch(`${ts.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'upload-length': '100' },
    });
    expect(res.status).toBe(412);
    expect(orphans(ts, accepted)).toEqual([]);
  });
  test('20. tus: a text file uploaded whole: the last PATCH answers 415, bytes and video deleted', async () => {
    const data = readFileSync(files.text!);
    const c = await tusCreate(ts, admin, { 'upload-length': String(data.length) });
    const url = new URL(c.headers.get('location')!, ts.url).toString();
    const last = await tusPatch(url, admin, 0, data);
    expect(last.status).toBe(415);
    expect(((await last.json()) as any).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await call(ts, 'GET', `/api/v1/videos/${url.split('/').pop()}`, { token: admin })).status).toBe(404);
    expect(orphans(ts, accepted)).toEqual([]);
  });
  test('21. tus: another user cannot touch an upload of an app they do not see: 404', async () => {
    const c = await tusCreate(ts, admin, { 'upload-length': '100' });
    const url = new URL(c.headers.get('location')!, ts.url).toString();
    const outsider = (await createUser(ts, admin, 'o@example.com', 'member', [])).accessToken;
    expect((await tusPatch(url, outsider, 0, Buffer.alloc(100))).status).toBe(404);
    const del = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0' },
    });
    expect(del.status).toBe(204);
  });
  test('after all that the server is healthy and the accepted videos are the only ones', async () => {
    const h = await call(ts, 'GET', '/api/v1/health');
    expect(h.json).toMatchObject({ status: 'healthy', ffmpeg: { available: true } });
    const list = await call(ts, 'GET', '/api/v1/videos?app=default', { token: admin });
    expect(list.json!.videos.map((v: any) => v.id).sort()).toEqual([...accepted].sort());
    expect(orphans(ts, accepted)).toEqual([]);
  });
});
