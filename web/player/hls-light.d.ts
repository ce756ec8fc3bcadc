// hls.js ships no types for its light build's subpath; it is the same API as the full build, minus features
// this player does not use (subtitles, alternate audio, DRM).
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
