// Resumable uploads with the tus 1.0 protocol, driven by tus-js-client (what Uppy uses): creation with metadata,
// a resume after an interrupted PATCH, termination, uploads by a member of the app, an app deleted with its
// uploads, and the protocol's refusals.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { call, createUser, setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();

function tusUpload(
  ts: TestServer,
  token: string,
  data: Buffer,
  opts: Partial<tus.UploadOptions> = {},
): { upload: tus.Upload; done: Promise<void> } {
  let upload!: tus.Upload;
  const done = new Promise<void>((resolve, reject) => {
    upload = new tus.Upload(data, {
      endpoint: `${ts.url}/api/v1/uploads`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { filename: 'holiday.mp4', title: 'Holiday' },
      chunkSize: 64 * 1024,
      retryDelays: null as unknown as number[],
      onSuccess: () => resolve(),
      onError: (err) => reject(err),
      ...opts,
    });
  });
  return { upload, done };
}

const idOf = (url: string | null) => url!.split('/').pop()!;

/** PATCHes `send` of `total` bytes at `offset`, then cuts the connection: an upload interrupted mid-request. */
function interruptedPatch(url: string, token: string, offset: number, chunk: Buffer, send: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${token}`,
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(chunk.length),
      },
    });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.write(chunk.subarray(0, send), () => setTimeout(() => (req.destroy(), resolve()), 300));
  });
}

describe.skipIf(!ff)('tus uploads', () => {
  let ts: TestServer;
  let admin: string;
  let video: Buffer;

  beforeAll(async () => {
    const work = makeTempDir('m3w-tus-src-');
    ts = await startTestServer(MEDIA_CONFIG);
    admin = (await setupAdmin(ts)).accessToken;
    video = readFileSync(await makeVideo(ff!.ffmpeg.path, work, 'tus', { width: 320, height: 180, seconds: 2 }));
  }, 60_000);
  afterAll(async () => {
    await ts?.close();
  });

  test('tus-js-client uploads a video; it is uploading while bytes arrive, then queued and transcoded', async () => {
    let seenUploading = false;
    const { upload, done } = tusUpload(ts, admin, video, {
      onChunkComplete: () => {
        if (seenUploading) return;
        const id = idOf(upload.url);
        void call(ts, 'GET', `/api/v1/videos/${id}`, { token: admin }).then((r) => {
          if (r.json?.status === 'uploading') seenUploading = true;
        });
      },
    });
    upload.start();
    await done;
    const id = idOf(upload.url);
    const v = await waitForVideo(ts, admin, id);
    expect(v).toMatchObject({ id, title: 'Holiday', status: 'ready', width: 320, height: 180 });
    expect(v.renditions.map((r: any) => r.height)).toEqual([180]);
    expect(seenUploading).toBe(true);
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
  });

  test('an interrupted PATCH: HEAD tells how far it got, tus-js-client resumes from there and finishes', async () => {
    const create = await fetch(`${ts.url}/api/v1/uploads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(video.length),
        'upload-metadata': `title ${Buffer.from('Resumed').toString('base64')}`,
      },
    });
    expect(create.status).toBe(201);
    const url = new URL(create.headers.get('location')!, ts.url).toString();
    const half = Math.floor(video.length / 2);
    await interruptedPatch(url, admin, 0, video, half);
    const head = await fetch(url, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0' },
    });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(half);
    expect(head.headers.get('upload-length')).toBe(String(video.length));

    const { upload, done } = tusUpload(ts, admin, video, { uploadUrl: url });
    let firstOffset = -1;
    upload.options.onProgress = (sent) => {
      if (firstOffset < 0) firstOffset = sent;
    };
    upload.start();
    await done;
    expect(firstOffset).toBeGreaterThanOrEqual(offset);
    const v = await waitForVideo(ts, admin, idOf(url));
    expect(v).toMatchObject({ title: 'Resumed', status: 'ready' });
  });

  test('a member granted an app uploads to it, by tus (?app=) and multipart (appId field); the videos are that app’s', async () => {
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'shop' } })).status).toBe(201);
    const member = (await createUser(ts, admin, 'uploader@example.com', 'member', ['shop'])).accessToken;
    const { upload, done } = tusUpload(ts, member, video, {
      endpoint: `${ts.url}/api/v1/uploads?app=shop`,
      metadata: { title: 'By a member' },
    });
    upload.start();
    await done;
    expect(await waitForVideo(ts, member, idOf(upload.url))).toMatchObject({ appId: 'shop', status: 'ready' });
    const file = path.join(makeTempDir('m3w-member-'), 'clip.mp4');
    writeFileSync(file, video);
    const multipart = await uploadFile(ts, member, file, { appId: 'shop', title: 'Also by a member' });
    expect(multipart.status, JSON.stringify(multipart.json)).toBe(202);
    expect(multipart.json).toMatchObject({ appId: 'shop', status: 'queued' });
    const list = await call(ts, 'GET', '/api/v1/videos?app=shop', { token: member });
    expect(list.json!.videos.map((v: any) => v.title).sort()).toEqual(['Also by a member', 'By a member']);
    // Its app goes, with the second video perhaps still transcoding: nothing of either is left behind.
    expect((await call(ts, 'DELETE', '/api/v1/apps/shop', { token: admin })).status).toBe(204);
    for (const v of list.json!.videos)
      expect(existsSync(path.join(ts.dir, 'media', 'videos', v.id)), v.title).toBe(false);
  });

  test('deleting an app removes the files of its videos and of its uploads in progress at once', async () => {
    expect((await call(ts, 'POST', '/api/v1/apps', { token: admin, body: { id: 'short-lived' } })).status).toBe(201);
    const { upload, done } = tusUpload(ts, admin, video, { metadata: { title: 'Ready', appId: 'short-lived' } });
    upload.start();
    await done;
    const readyId = idOf(upload.url);
    expect(await waitForVideo(ts, admin, readyId)).toMatchObject({ appId: 'short-lived', status: 'ready' });
    const create = await fetch(`${ts.url}/api/v1/uploads?app=short-lived`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0', 'upload-length': String(video.length) },
    });
    const url = new URL(create.headers.get('location')!, ts.url).toString();
    await interruptedPatch(url, admin, 0, video, 1000);
    const uploads = path.join(ts.dir, 'media', 'uploads');
    expect(readdirSync(uploads).length).toBeGreaterThan(0);
    expect(existsSync(path.join(ts.dir, 'media', 'videos', readyId))).toBe(true);

    expect((await call(ts, 'DELETE', '/api/v1/apps/short-lived', { token: admin })).status).toBe(204);
    expect(existsSync(path.join(ts.dir, 'media', 'videos', readyId))).toBe(false);
    expect(readdirSync(uploads)).toEqual([]);
  });

  test('termination deletes the upload, its bytes and its video', async () => {
    const create = await fetch(`${ts.url}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0', 'upload-length': String(video.length) },
    });
    const url = new URL(create.headers.get('location')!, ts.url).toString();
    await interruptedPatch(url, admin, 0, video, 1000);
    const del = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}`, 'tus-resumable': '1.0.0' },
    });
    expect(del.status).toBe(204);
    expect((await call(ts, 'GET', `/api/v1/videos/${idOf(url)}`, { token: admin })).status).toBe(404);
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
  });
});
