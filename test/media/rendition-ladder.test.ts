// The ladder a source gets, as the issue sets it: 1080p, 720p, 480p, 360p, 240p at or below the source's height,
// the source's own height always kept; video bitrate from bits per pixel (0.10 at 1080p rising to 0.15 at 360p)
// and never above the source's bitrate + 30 %; the top rendition remuxed when the source is already H.264
// (8-bit 4:2:0, a keyframe at least every 2 s) with AAC or no audio, encoded otherwise.
import { describe, expect, test } from 'vitest';
import { bitsPerPixel, canRemux, planLadder } from '../../src/media/rendition-ladder.ts';
import type { SourceInfo } from '../../src/media/probe-source.ts';

const source = (over: Partial<SourceInfo>): SourceInfo => ({
  durationMs: 60_000,
  width: 1920,
  height: 1080,
  fps: 30,
  videoCodec: 'h264',
  pixFmt: 'yuv420p',
  videoBitrate: null,
  audio: { codec: 'aac', channels: 2, profile: 'LC' },
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  keyframeGapSec: 2,
  ...over,
});

describe('the rendition ladder', () => {
  test('bits per pixel: 0.10 at 1080p, 0.15 at 360p and below, in between for 480p and 720p', () => {
    expect(bitsPerPixel(1080)).toBeCloseTo(0.1, 6);
    expect(bitsPerPixel(360)).toBeCloseTo(0.15, 6);
    expect(bitsPerPixel(240)).toBeCloseTo(0.15, 6);
    expect(bitsPerPixel(720)).toBeLessThan(0.15);
    expect(bitsPerPixel(720)).toBeGreaterThan(0.1);
    expect(bitsPerPixel(480)).toBeGreaterThan(bitsPerPixel(720));
  });

  test('a 1080p H.264/AAC source: all five heights, lowest first, the top one remuxed at the source bitrate', () => {
    const ladder = planLadder(source({ videoBitrate: 8_000_000 }));
    expect(ladder.map((r) => [r.height, r.mode])).toEqual([
      [240, 'encode'],
      [360, 'encode'],
      [480, 'encode'],
      [720, 'encode'],
      [1080, 'copy'],
    ]);
    expect(ladder.map((r) => r.width)).toEqual([426, 640, 854, 1280, 1920]);
    for (const r of ladder.filter((x) => x.mode === 'encode'))
      expect(r.videoBitrate, `${r.height}p`).toBe(Math.round(r.width * r.height * 30 * bitsPerPixel(r.height)));
    expect(ladder.at(-1)!.videoBitrate).toBe(8_000_000);
  });

  test('only heights at or below the source, its own height kept (and encoded when it is not H.264)', () => {
    const ladder = planLadder(source({ width: 960, height: 540, videoCodec: 'mpeg4', videoBitrate: null }));
    expect(ladder.map((r) => [r.height, r.mode])).toEqual([
      [240, 'encode'],
      [360, 'encode'],
      [480, 'encode'],
      [540, 'encode'],
    ]);
    expect(ladder.at(-1)!.width).toBe(960);
    expect(planLadder(source({ width: 320, height: 180 })).map((r) => r.height)).toEqual([180]);
  });

  test("never above the source's bitrate + 30 %", () => {
    const ladder = planLadder(source({ width: 1280, height: 720, videoCodec: 'hevc', videoBitrate: 600_000 }));
    expect(ladder.map((r) => r.height)).toEqual([240, 360, 480, 720]);
    for (const r of ladder) expect(r.videoBitrate, `${r.height}p`).toBeLessThanOrEqual(780_000);
    // 240p needs less than the cap and keeps its own figure; the others are held at the cap.
    expect(ladder[0]!.videoBitrate).toBe(Math.round(426 * 240 * 30 * 0.15));
    expect(ladder.slice(1).map((r) => r.videoBitrate)).toEqual([780_000, 780_000, 780_000]);
  });

  test('remux only what players take as is: H.264 8-bit 4:2:0 up to 60 fps, keyframes ≤ 2 s apart, AAC or no audio', () => {
    expect(canRemux(source({}))).toBe(true);
    expect(canRemux(source({ audio: null }))).toBe(true);
    expect(canRemux(source({ pixFmt: 'yuvj420p' }))).toBe(true);
    expect(canRemux(source({ videoCodec: 'hevc' }))).toBe(false);
    expect(canRemux(source({ pixFmt: 'yuv420p10le' }))).toBe(false);
    expect(canRemux(source({ pixFmt: 'yuv444p' }))).toBe(false);
    expect(canRemux(source({ fps: 120 }))).toBe(false);
    expect(canRemux(source({ audio: { codec: 'mp3', channels: 2, profile: null } }))).toBe(false);
    // A copy is cut at the source's keyframes: further apart than 2 s (or unknown), 4 s segments are impossible.
    expect(canRemux(source({ keyframeGapSec: 2.002 }))).toBe(true);
    expect(canRemux(source({ keyframeGapSec: 4 }))).toBe(false);
    expect(canRemux(source({ keyframeGapSec: null }))).toBe(false);
    expect(planLadder(source({ audio: { codec: 'opus', channels: 2, profile: null } })).at(-1)!.mode).toBe('encode');
  });
});
