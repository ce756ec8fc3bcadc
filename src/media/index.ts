// The video library: uploads, the transcode job queue, ffmpeg, signed URLs.
export { discoverFfmpeg, HARDWARE_ENCODERS, type FfmpegInfo } from './ffmpeg-discovery.ts';
export { FFMPEG_INSTALL_HINT, MediaError, type MediaErrorCode } from './media-error.ts';
export { ensureRoom, freeBytes, VIDEO_ID } from './media-paths.ts';
export { planLadder, bitsPerPixel, LADDER_HEIGHTS } from './rendition-ladder.ts';
export { UrlSigner, URL_KEY_FILE, type PlaybackCredential, type UrlCheck } from './url-signer.ts';
export {
  cleanTitle,
  titleFromFilename,
  UNTITLED,
  VideoLibrary,
  type MediaConfig,
  type MediaLog,
  type SignPath,
  type VideoView,
} from './video-library.ts';
