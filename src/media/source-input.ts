// How ffprobe and ffmpeg open an uploaded file: only as a self-contained container read from that local file.
// Without this a "video" that is really an HLS playlist or an ffconcat list makes ffmpeg open the files it
// names (any media file m3w's user can read: another app's videos, other uploads in progress) and transcode
// them into the uploader's app.

/** Demuxers of real media containers; none of them opens another file or URL on the input's behalf. */
export const SOURCE_DEMUXERS = [
  'mov',
  'mp4',
  'matroska',
  'webm',
  'avi',
  'flv',
  'mpegts',
  'mpeg',
  'asf',
  'ogg',
  'mxf',
  'nut',
  'dv',
  'gif',
  // Audio-only files are refused anyway; opening them lets the refusal say "audio only".
  'mp3',
  'wav',
  'flac',
  'aac',
] as const;

/** ffprobe/ffmpeg input options for an uploaded file, ending with `-i file`. */
export function sourceInput(file: string): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', SOURCE_DEMUXERS.join(','), '-i', file];
}

/** True when ffmpeg's stderr says the file was refused by the demuxer whitelist (a playlist, a list…). */
export function refusedFormat(stderr: string): boolean {
  return /not on whitelist/.test(stderr);
}
