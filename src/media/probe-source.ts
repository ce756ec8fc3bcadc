// Reads an uploaded file with ffprobe and decides whether m3w can make HLS of it: a video stream of sane
// dimensions, a known duration within the limit. Everything else is refused with a message naming the problem.
import { execFile } from 'node:child_process';
import { MediaError } from './media-error.ts';
import { refusedFormat, sourceInput } from './source-input.ts';

export interface SourceInfo {
  durationMs: number;
  width: number;
  height: number;
  fps: number;
  videoCodec: string;
  pixFmt: string | null;
  /** Video bits/s, when the container or stream says. */
  videoBitrate: number | null;
  audio: { codec: string; channels: number; profile: string | null } | null;
  formatName: string;
  /**
   * The longest stretch without a keyframe in the first 30 s, in seconds: measured for H.264 sources only (whether
   * their top rendition can be remuxed and still cut into 4 s segments); null otherwise or when unknown.
   */
  keyframeGapSec: number | null;
}

const MAX_SIDE = 8192;
const MIN_SIDE = 16;

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  bit_rate?: string;
  channels?: number;
  profile?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

function rate(s: string | undefined): number {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  if (!m || Number(m[2]) === 0) return 0;
  return Number(m[1]) / Number(m[2]);
}

function ffprobeJson(ffprobe: string, file: string): Promise<{ ok: boolean; json: unknown; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...sourceInput(file)],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        let json: unknown = null;
        try {
          json = JSON.parse(String(stdout));
        } catch {}
        resolve({ ok: !err, json, stderr: String(stderr) });
      },
    );
  });
}

/** The longest gap between keyframes of the first video stream over its first 30 s (the tail included). */
function keyframeGap(ffprobe: string, file: string): Promise<number | null> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+30'];
  args.push('-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', ...sourceInput(file));
  return new Promise((resolve) => {
    execFile(ffprobe, args, { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout) => {
      if (err) return resolve(null);
      const keys: number[] = [];
      let last = Number.NEGATIVE_INFINITY;
      for (const line of String(stdout).split('\n')) {
        const [t, flags] = line.trim().split(',');
        const pts = Number(t);
        if (!t || !Number.isFinite(pts)) continue;
        last = Math.max(last, pts);
        if (flags?.startsWith('K')) keys.push(pts);
      }
      if (keys.length === 0) return resolve(null);
      keys.sort((a, b) => a - b);
      let gap = last - keys.at(-1)!;
      for (let i = 1; i < keys.length; i++) gap = Math.max(gap, keys[i]! - keys[i - 1]!);
      resolve(Math.round(gap * 1000) / 1000);
    });
  });
}

/** Probes `file` and validates it as a source; throws MediaError (400/415) when it cannot be one. */
export async function probeSource(ffprobe: string, file: string, maxDurationHours: number): Promise<SourceInfo> {
  const r = await ffprobeJson(ffprobe, file);
  const data = r.json as { streams?: ProbeStream[]; format?: { format_name?: string; duration?: string } } | null;
  if (!r.ok || !data?.format) {
    if (refusedFormat(r.stderr))
      throw new MediaError(
        'UNSUPPORTED_MEDIA_TYPE',
        'the file is a playlist or file list (HLS, concat…) or a container m3w does not read; upload the video file itself',
      );
    const last = r.stderr.trim().split('\n').pop()?.replace(file, 'the file').slice(0, 200) ?? '';
    throw new MediaError(
      'UNSUPPORTED_MEDIA_TYPE',
      `the file is not a video ffprobe can read (truncated, or not a media file)${last ? `: ${last}` : ''}`,
    );
  }
  const streams = data.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video)
    throw new MediaError(
      'UNSUPPORTED_MEDIA_TYPE',
      streams.some((s) => s.codec_type === 'audio')
        ? 'the file has no video stream (audio only)'
        : 'the file has no video stream',
    );
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (width < MIN_SIDE || height < MIN_SIDE || width > MAX_SIDE || height > MAX_SIDE)
    throw new MediaError(
      'INVALID_SCHEMA',
      `video dimensions ${width}x${height} are outside ${MIN_SIDE} to ${MAX_SIDE} pixels per side`,
    );
  const seconds = Number(data.format.duration ?? video.duration ?? Number.NaN);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new MediaError('INVALID_SCHEMA', 'the video has no known duration (the file is truncated or damaged)');
  if (seconds > maxDurationHours * 3600)
    throw new MediaError(
      'INVALID_SCHEMA',
      `the video lasts ${(seconds / 3600).toFixed(1)} h; the limit is ${maxDurationHours} h (maxDurationHours)`,
    );
  const fps = rate(video.avg_frame_rate) || rate(video.r_frame_rate) || 30;
  const audio = streams.find((s) => s.codec_type === 'audio');
  const bitrate = Number(video.bit_rate);
  const videoCodec = video.codec_name ?? 'unknown';
  return {
    durationMs: Math.round(seconds * 1000),
    width,
    height,
    fps: Math.min(fps, 120),
    videoCodec,
    pixFmt: video.pix_fmt ?? null,
    videoBitrate: Number.isFinite(bitrate) && bitrate > 0 ? bitrate : null,
    audio: audio
      ? { codec: audio.codec_name ?? 'unknown', channels: audio.channels ?? 2, profile: audio.profile ?? null }
      : null,
    formatName: data.format.format_name ?? 'unknown',
    keyframeGapSec: videoCodec === 'h264' ? await keyframeGap(ffprobe, file) : null,
  };
}
