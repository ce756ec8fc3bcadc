// Errors of the media part that a client caused or must know about; the HTTP layer maps the code to a status.
export type MediaErrorCode =
  | 'FFMPEG_UNAVAILABLE'
  | 'INSUFFICIENT_STORAGE'
  | 'INVALID_SCHEMA'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'FORBIDDEN';

export class MediaError extends Error {
  override name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const FFMPEG_INSTALL_HINT =
  'install ffmpeg (Debian/Ubuntu/Raspberry Pi OS: sudo apt install ffmpeg; macOS: brew install ffmpeg), put an ffmpeg ' +
  'executable beside m3w, or set ffmpegPath / M3W_FFMPEG';
