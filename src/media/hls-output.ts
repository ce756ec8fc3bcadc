// Reads what ffmpeg wrote for a rendition: its segments and durations from the VOD playlist (for the measured
// peak and average bandwidth the master playlist announces) and the RFC 6381 CODECS string from the init segment.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface PlaylistEntry {
  uri: string;
  duration: number;
}

export function parseMediaPlaylist(text: string): { entries: PlaylistEntry[]; mapUri: string | null } {
  const entries: PlaylistEntry[] = [];
  let pending = 0;
  let mapUri: string | null = null;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l.startsWith('#EXTINF:')) pending = Number.parseFloat(l.slice(8));
    else if (l.startsWith('#EXT-X-MAP:')) mapUri = /URI="([^"]+)"/.exec(l)?.[1] ?? null;
    else if (l && !l.startsWith('#')) entries.push({ uri: l, duration: pending });
  }
  return { entries, mapUri };
}

/** avc1.PPCCLL from the avcC box of an fMP4 init segment, and the audio codec when there is audio. */
export function codecsFromInit(init: Buffer, audioProfile: string | null | undefined, hasAudio: boolean): string {
  const at = init.indexOf('avcC');
  let video = 'avc1.640028';
  if (at >= 0 && at + 8 <= init.length) {
    const hex = (b: number) => b.toString(16).padStart(2, '0');
    video = `avc1.${hex(init[at + 5]!)}${hex(init[at + 6]!)}${hex(init[at + 7]!)}`;
  }
  if (!hasAudio) return video;
  const audio =
    audioProfile && /HE-AACv2/i.test(audioProfile)
      ? 'mp4a.40.29'
      : audioProfile && /HE-AAC/i.test(audioProfile)
        ? 'mp4a.40.5'
        : 'mp4a.40.2';
  return `${video},${audio}`;
}

/** Peak (over one segment) and average bits per second of a finished rendition folder. */
export async function measureRendition(
  dir: string,
): Promise<{ bandwidth: number; averageBandwidth: number; segments: number }> {
  const { entries, mapUri } = parseMediaPlaylist(await readFile(path.join(dir, 'index.m3u8'), 'utf8'));
  if (entries.length === 0) throw new Error('the rendition playlist lists no segments');
  let peak = 0;
  let bytes = 0;
  let seconds = 0;
  for (const e of entries) {
    const size = (await stat(path.join(dir, e.uri))).size;
    bytes += size;
    seconds += e.duration;
    if (e.duration > 0.5) peak = Math.max(peak, (size * 8) / e.duration);
  }
  if (mapUri) bytes += (await stat(path.join(dir, mapUri))).size;
  const average = seconds > 0 ? (bytes * 8) / seconds : 0;
  return {
    bandwidth: Math.ceil(Math.max(peak, average)),
    averageBandwidth: Math.ceil(average),
    segments: entries.length,
  };
}
