// The ffmpeg command lines: one HLS fMP4 rendition (4 s segments, a keyframe every 2 s, VOD playlist), and the
// poster and seek-preview sprite. Progress goes to stdout (-progress pipe:1), errors to stderr.
import type { SourceInfo } from './probe-source.ts';
import { AUDIO_BITRATE, type PlannedRendition } from './rendition-ladder.ts';

export const SEGMENT_SECONDS = 4;
export const GOP_SECONDS = 2;
export const SPRITE_COLUMNS = 10;
export const THUMB_WIDTH = 160;

const COMMON = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-progress', 'pipe:1', '-nostats'];

function videoEncoderArgs(encoder: string, preset: string, r: PlannedRendition, fps: number): string[] {
  const gop = String(Math.max(1, Math.round(fps * GOP_SECONDS)));
  const rate = [
    '-b:v',
    String(r.videoBitrate),
    '-maxrate',
    String(Math.round(r.videoBitrate * 1.2)),
    '-bufsize',
    String(r.videoBitrate * 2),
  ];
  const keyframes = ['-g', gop, '-keyint_min', gop, '-force_key_frames', `expr:gte(t,n_forced*${GOP_SECONDS})`];
  const scale = `scale=${r.width}:${r.height}`;
  if (encoder === 'h264_vaapi') return ['-vf', `${scale},format=nv12,hwupload`, '-c:v', encoder, ...rate, ...keyframes];
  const base = ['-vf', scale, '-pix_fmt', 'yuv420p', '-c:v', encoder, ...rate, ...keyframes];
  if (encoder === 'libx264') return [...base, '-preset', preset, '-profile:v', 'high', '-sc_threshold', '0'];
  return base;
}

function audioArgs(src: SourceInfo): string[] {
  if (!src.audio) return [];
  if (src.audio.codec === 'aac' && src.audio.channels <= 2) return ['-c:a', 'copy'];
  return ['-c:a', 'aac', '-ac', '2', '-b:a', String(AUDIO_BITRATE)];
}

export function renditionArgs(opts: {
  source: string;
  outDir: string;
  src: SourceInfo;
  rendition: PlannedRendition;
  encoder: string;
  preset: string;
}): string[] {
  const { src, rendition: r } = opts;
  const fps = Math.min(src.fps || 30, 60);
  const input = opts.encoder === 'h264_vaapi' ? ['-vaapi_device', '/dev/dri/renderD128'] : [];
  const video = r.mode === 'copy' ? ['-c:v', 'copy'] : videoEncoderArgs(opts.encoder, opts.preset, r, fps);
  return [
    ...COMMON,
    ...input,
    '-i',
    opts.source,
    '-map',
    '0:v:0',
    ...(src.audio ? ['-map', '0:a:0'] : []),
    ...video,
    ...audioArgs(src),
    '-f',
    'hls',
    '-hls_time',
    String(SEGMENT_SECONDS),
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    'init.mp4',
    '-hls_segment_filename',
    `${opts.outDir}/seg_%05d.m4s`,
    `${opts.outDir}/index.m3u8`,
  ];
}

export interface SpritePlan {
  intervalSec: number;
  count: number;
  columns: number;
  rows: number;
  thumbWidth: number;
  thumbHeight: number;
}

export function planSprite(src: SourceInfo): SpritePlan {
  const seconds = src.durationMs / 1000;
  const intervalSec = Math.max(1, Math.ceil(seconds / 100));
  const count = Math.max(1, Math.ceil(seconds / intervalSec));
  const columns = Math.min(SPRITE_COLUMNS, count);
  const thumbHeight = Math.max(2, Math.round((THUMB_WIDTH * src.height) / src.width / 2) * 2);
  return { intervalSec, count, columns, rows: Math.ceil(count / columns), thumbWidth: THUMB_WIDTH, thumbHeight };
}

export function posterArgs(source: string, out: string, src: SourceInfo): string[] {
  const at = ((src.durationMs / 1000) * 0.1).toFixed(3);
  const height = Math.min(720, src.height - (src.height % 2));
  return [...COMMON, '-ss', at, '-i', source, '-frames:v', '1', '-vf', `scale=-2:${height}`, '-q:v', '3', out];
}

export function spriteArgs(source: string, out: string, plan: SpritePlan): string[] {
  const filter = `fps=1/${plan.intervalSec},scale=${plan.thumbWidth}:${plan.thumbHeight},tile=${plan.columns}x${plan.rows}`;
  return [...COMMON, '-i', source, '-an', '-vf', filter, '-frames:v', '1', '-q:v', '5', out];
}
