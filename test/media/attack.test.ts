// A stranger's attacks on the video library's outside surfaces (real server, real ffmpeg): each finding that was
// fixed keeps a test here that failed before the fix.
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
});
