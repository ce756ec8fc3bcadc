// A video's way from upload to playback: multipart upload (streamed to disk), the HLS ladder (heights,
// bandwidths, codecs, valid to ffprobe; 4 s segments, a keyframe every 2 s, AAC stereo audio), remux of an
// H.264/AAC source's top rendition, progressive publish, poster, sprite and thumbnails track, signed playlists
// and segments with Range, and the files' modes.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FfmpegInfo } from '../../src/media/index.ts';
import { call, setupAdmin } from '../helpers/accounts.ts';
import { makeTempDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { ffprobeJson, findFfmpeg, MEDIA_CONFIG, makeVideo, uploadFile, waitForVideo } from './media-helpers.ts';

const ff: FfmpegInfo | null = await findFfmpeg();
const run = promisify(execFile);

describe.skipIf(!ff)('upload → HLS ladder → playback', () => {
  let ts: TestServer;
  let admin: string;
  let work: string;
  let h264: string;
  let mpeg4: string;

  beforeAll(async () => {
    work = makeTempDir('m3w-media-src-');
    ts = await startTestServer(MEDIA_CONFIG);
    admin = (await setupAdmin(ts)).accessToken;
    [h264, mpeg4] = await Promise.all([
      makeVideo(ff!.ffmpeg.path, work, 'h264', { width: 640, height: 360, seconds: 3 }),
      makeVideo(ff!.ffmpeg.path, work, 'mpeg4', {
        width: 854,
        height: 480,
        seconds: 3,
        video: ['-c:v', 'mpeg4', '-q:v', '5'],
        audio: ['-c:a', 'libmp3lame', '-b:a', '64k'],
        ext: 'avi',
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await ts?.close();
  });

  test('an H.264/AAC upload: 202 queued, then a 240p encode and a 360p remux, playable through signed URLs', async () => {
    const up = await uploadFile(ts, admin, h264, { title: 'Test card' });
    expect(up.status, JSON.stringify(up.json)).toBe(202);
    expect(up.json).toMatchObject({ appId: 'default', title: 'Test card', status: 'queued', width: 640, height: 360 });
    expect(up.json.durationMs).toBeGreaterThan(2900);
    const v = await waitForVideo(ts, admin, up.json.id);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(v.progress).toBe(1);
    expect(v.renditions.map((r: any) => r.height)).toEqual([240, 360]);
    for (const r of v.renditions) {
      expect(r.status).toBe('ready');
      expect(r.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(r.bandwidth).toBeGreaterThan(10_000);
    }
    const kept = ts.server.store.videos.listRenditions(up.json.id);
    expect((await kept).find((r) => r.height === 360)?.mode).toBe('copy');

    const grant = await call(ts, 'POST', `/api/v1/videos/${up.json.id}/playback`, { token: admin });
    expect(grant.status, JSON.stringify(grant.json)).toBe(200);
    expect(grant.json!.url).toMatch(new RegExp(`^${ts.url}/media/${up.json.id}/master\\.m3u8\\?e=\\d+&v=u\\.`));
    expect(grant.json!.qoe).toMatchObject({ endpoint: '/v1/sessions', expiresAt: grant.json!.expiresAt });
    const master = await fetch(grant.json!.url);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('no-store');
    const text = await master.text();
    expect(text.match(/#EXT-X-STREAM-INF:[^\n]*/g)).toHaveLength(2);
    expect(text).toMatch(
      /BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,RESOLUTION=426x240,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/,
    );
    expect(text).toMatch(/RESOLUTION=640x360/);

    // ffprobe reads the whole ladder through the signed URLs.
    const probed = await ffprobeJson(ff!.ffprobe.path, grant.json!.url);
    const heights = probed.streams.filter((s: any) => s.codec_type === 'video').map((s: any) => s.height);
    expect(heights.sort()).toEqual([240, 360]);
    expect(Number(probed.format.duration)).toBeGreaterThan(2.5);

    const lowUrl = new URL(text.split('\n').find((l) => l.includes('/240p/index.m3u8'))!, ts.url);
    const low = await (await fetch(lowUrl)).text();
    expect(low).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(low).toMatch(/#EXT-X-MAP:URI="\/media\/[^"]+\/240p\/init\.mp4\?e=/);
    const durations = [...low.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    expect(durations.length).toBeGreaterThanOrEqual(1);
    for (const d of durations) expect(d).toBeLessThanOrEqual(4.1);

    const segUrl = new URL(low.split('\n').find((l) => l.includes('seg_'))!, ts.url);
    const whole = await fetch(segUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('cache-control')).toContain('immutable');
    expect(whole.headers.get('access-control-allow-origin')).toBe('*');
    const bytes = Buffer.from(await whole.arrayBuffer());
    const part = await fetch(segUrl, { headers: { range: 'bytes=10-109' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(10, 110));
    expect((await fetch(segUrl, { headers: { range: `bytes=${bytes.length}-` } })).status).toBe(416);

    // Poster and the seek-preview sprite with its WebVTT track.
    const poster = await fetch(v.posterUrl.startsWith('/') ? ts.url + v.posterUrl : v.posterUrl);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    expect((await poster.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const vttPath = new URL(v.posterUrl, ts.url).pathname.replace('poster.jpg', 'thumbs.vtt');
    const vttGrant = ts.server.media.signer.sign(vttPath, Date.now() + 60_000, 'g.test');
    const vtt = await (await fetch(ts.url + vttGrant)).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    const cue = /(\/media\/\S+\/thumbs\/sprite\.jpg\?\S+)#xywh=(\d+),(\d+),(\d+),(\d+)/.exec(vtt)!;
    expect(cue).not.toBeNull();
    const sprite = await fetch(ts.url + cue[1]);
    expect(sprite.headers.get('content-type')).toBe('image/jpeg');
  });

  test('another codec (MPEG-4 Part 2 + MP3 in AVI) is encoded at every height up to the source: 240p, 360p, 480p, published lowest first', async () => {
    const up = await uploadFile(ts, admin, mpeg4, {});
    expect(up.status, JSON.stringify(up.json)).toBe(202);
    expect(up.json.title).toBe('Untitled video');
    const id = up.json.id as string;
    // Progressive publish: playable while the higher renditions are still to come.
    const early = await waitForVideo(ts, admin, id, (v) => v.renditions.some((r: any) => r.status === 'ready'));
    let partial: string | null = null;
    if (early.status !== 'ready') {
      expect(early.renditions[0]).toMatchObject({ height: 240, status: 'ready' });
      const grant = await call(ts, 'POST', `/api/v1/videos/${id}/playback`, { token: admin });
      expect(grant.status).toBe(200);
      partial = await (await fetch(grant.json!.url)).text();
    }
    const v = await waitForVideo(ts, admin, id);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(v.renditions.map((r: any) => [r.height, r.status])).toEqual([
      [240, 'ready'],
      [360, 'ready'],
      [480, 'ready'],
    ]);
    expect(v.renditions[0].bandwidth).toBeLessThan(v.renditions[2].bandwidth);
    expect(partial, 'the lowest rendition was published before the others').not.toBeNull();
    expect(partial!.match(/#EXT-X-STREAM-INF/g)!.length).toBeLessThan(3);
    const grant = await call(ts, 'POST', `/api/v1/videos/${id}/playback`, { token: admin });
    const full = await (await fetch(grant.json!.url)).text();
    expect(full.match(/#EXT-X-STREAM-INF/g)).toHaveLength(3);
  });

  /** The one rendition of a 10 s 320x240 upload: its segment durations and keyframe times (from 0), its JSON. */
  async function onlyRendition(file: string) {
    const up = await uploadFile(ts, admin, file, {});
    expect(up.status, JSON.stringify(up.json)).toBe(202);
    const v = await waitForVideo(ts, admin, up.json.id);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    expect(v.renditions.map((r: any) => r.height)).toEqual([240]);
    const grant = await call(ts, 'POST', `/api/v1/videos/${up.json.id}/playback`, { token: admin });
    const master = await (await fetch(grant.json!.url)).text();
    const playlistUrl = new URL(master.split('\n').find((l) => l.includes('/240p/index.m3u8'))!, ts.url).toString();
    const playlist = await (await fetch(playlistUrl)).text();
    const durations = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Math.round(Number(m[1]) * 10) / 10);
    const { stdout } = await run(ff!.ffprobe.path, [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      playlistUrl,
    ]);
    const packets = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(','))
      .map(([t, flags]) => ({ t: Number(t), key: flags!.startsWith('K') }));
    const start = Math.min(...packets.map((p) => p.t));
    const keyframes = packets
      .filter((p) => p.key)
      .map((p) => Math.round((p.t - start) * 100) / 100)
      .sort((a, b) => a - b);
    const probed = await ffprobeJson(ff!.ffprobe.path, playlistUrl);
    const mode = (await ts.server.store.videos.listRenditions(up.json.id))[0]!.mode;
    return { v, durations, keyframes, probed, mode };
  }

  test('4 s segments with a keyframe every 2 s whatever the source has; 5.1 audio becomes AAC stereo', async () => {
    // MPEG-4 Part 2 with one keyframe in 12 s and six-channel AAC: nothing can be copied.
    const file = await makeVideo(ff!.ffmpeg.path, work, 'gop', {
      width: 320,
      height: 240,
      seconds: 10,
      video: ['-c:v', 'mpeg4', '-q:v', '5', '-g', '300'],
      audio: ['-c:a', 'aac', '-ac', '6', '-b:a', '192k'],
    });
    const r = await onlyRendition(file);
    expect(r.durations).toEqual([4, 4, 2]);
    expect(r.keyframes).toEqual([0, 2, 4, 6, 8]);
    const audio = r.probed.streams.find((s: any) => s.codec_type === 'audio');
    expect(audio).toMatchObject({ codec_name: 'aac', channels: 2 });
    expect(r.v.renditions[0].codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
  });

  test('an H.264/AAC source with a keyframe only every 10 s is encoded, not remuxed into 10 s segments', async () => {
    const file = await makeVideo(ff!.ffmpeg.path, work, 'longgop', {
      width: 320,
      height: 240,
      seconds: 10,
      video: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '250', '-sc_threshold', '0'],
    });
    const r = await onlyRendition(file);
    expect(r.mode).toBe('encode');
    expect(r.durations).toEqual([4, 4, 2]);
    expect(r.keyframes).toEqual([0, 2, 4, 6, 8]);
  });

  test('a multipart body is streamed to disk, never held in memory: 300 MB raise the RSS by far less', async () => {
    const MB = 1024 * 1024;
    const boundary = 'm3wstreamboundary';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n`;
    let sent = -1;
    const chunk = new Uint8Array(MB);
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent < 0) {
          sent = 0;
          return c.enqueue(new TextEncoder().encode(head));
        }
        if (sent >= 300 * MB) {
          c.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
          return c.close();
        }
        sent += MB;
        c.enqueue(chunk);
      },
    });
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      const res = await fetch(`${ts.url}/api/v1/videos?app=default`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body,
        duplex: 'half',
      } as RequestInit);
      // Zeros are no video: refused once written and probed, and deleted.
      expect(res.status).toBe(415);
    } finally {
      clearInterval(sampler);
    }
    expect(sent).toBe(300 * MB);
    expect(peak - before, `RSS grew ${Math.round((peak - before) / MB)} MB`).toBeLessThan(120 * MB);
    expect(readdirSync(path.join(ts.dir, 'media', 'uploads'))).toEqual([]);
  }, 120_000);

  test('files under the data directory are private: directories 0700, files 0600; no client filename is a path', () => {
    const root = path.join(ts.dir, 'media');
    const walk = (dir: string): void => {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else expect(statSync(p).mode & 0o777, p).toBe(0o600);
        expect(name).not.toMatch(/h264|mpeg4|\.avi/);
      }
    };
    walk(root);
    expect(statSync(path.join(ts.dir, 'media-url-key')).mode & 0o777).toBe(0o600);
  });
});
