// Which renditions a source gets and at what bitrate: the standard heights at or below the source's (its own
// height always kept), bits per pixel from about 0.10 at 1080p to 0.15 at 360p, never above the source's
// bitrate + 30 %, and a remux of the top rendition when the source is already H.264 that players take as is
// (with keyframes close enough together for 4 s segments).
import type { SourceInfo } from './probe-source.ts';

export const LADDER_HEIGHTS = [1080, 720, 480, 360, 240] as const;
export const AUDIO_BITRATE = 128_000;

export interface PlannedRendition {
  height: number;
  width: number;
  videoBitrate: number;
  mode: 'encode' | 'copy';
}

/** Bits per pixel per frame: more for small pictures, which need more per pixel to look right. */
export function bitsPerPixel(height: number): number {
  const t = Math.max(0, Math.min(1, (height - 360) / (1080 - 360)));
  return 0.15 - 0.05 * t;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * A copy can only cut segments at the source's keyframes: with one at least every 2 s (the encoder's GOP, plus a
 * frame or two of slack) the copied rendition keeps the 4 s segments and 2 s keyframes of the encoded ones.
 */
export const MAX_REMUX_KEYFRAME_GAP_SEC = 2.1;

/**
 * The source can be copied into HLS fMP4 as is: H.264 in 8-bit 4:2:0, at most 60 fps, a keyframe at least every
 * 2 s, audio AAC or none.
 */
export function canRemux(src: SourceInfo): boolean {
  return (
    src.videoCodec === 'h264' &&
    (src.pixFmt === 'yuv420p' || src.pixFmt === 'yuvj420p') &&
    src.fps <= 60 &&
    typeof src.keyframeGapSec === 'number' &&
    src.keyframeGapSec <= MAX_REMUX_KEYFRAME_GAP_SEC &&
    (src.audio === null || src.audio.codec === 'aac')
  );
}

export function planLadder(src: SourceInfo): PlannedRendition[] {
  const heights = new Set<number>(LADDER_HEIGHTS.filter((h) => h <= src.height));
  heights.add(even(src.height));
  const fps = Math.min(src.fps || 30, 60);
  const cap = src.videoBitrate ? Math.round(src.videoBitrate * 1.3) : Number.POSITIVE_INFINITY;
  const top = Math.max(...heights);
  return [...heights]
    .sort((a, b) => a - b)
    .map((height) => {
      const width = even((src.width * height) / src.height);
      const copy = height === top && canRemux(src);
      const target = Math.round(width * height * fps * bitsPerPixel(height));
      return {
        height,
        width: copy ? src.width : width,
        videoBitrate: copy && src.videoBitrate ? src.videoBitrate : Math.max(64_000, Math.min(target, cap)),
        mode: copy ? ('copy' as const) : ('encode' as const),
      };
    });
}
