// Wire formats of the video library (GET/PATCH /api/v1/videos…): a video with its status, transcode progress and
// renditions (also what the WebSocket topic video:<id> carries), a page of them, a rename and a retry's answer.
import Type from 'typebox';
import { epochMs } from './fields.ts';

// The statuses are the media part's VideoRecord and RenditionRecord statuses (the routes' types keep them in step).
const queued = Type.Literal('queued');
const processing = Type.Literal('processing');
const ready = Type.Literal('ready');
const failed = Type.Literal('failed');

export const Rendition = Type.Object({
  height: Type.Integer(),
  bandwidth: Type.Union([Type.Integer(), Type.Null()], { description: 'measured peak bits/s, once ready' }),
  codecs: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([queued, processing, ready, failed]),
});
export type Rendition = Type.Static<typeof Rendition>;

export const Video = Type.Object(
  {
    id: Type.String(),
    appId: Type.String(),
    title: Type.String(),
    status: Type.Union([Type.Literal('uploading'), queued, processing, ready, failed]),
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    error: Type.Optional(Type.String({ description: "why it failed: ffmpeg's last error lines" })),
    durationMs: Type.Union([Type.Integer(), Type.Null()]),
    width: Type.Union([Type.Integer(), Type.Null()]),
    height: Type.Union([Type.Integer(), Type.Null()]),
    renditions: Type.Array(Rendition),
    posterUrl: Type.Union([Type.String(), Type.Null()], { description: 'signed for the caller; null until made' }),
    createdAt: epochMs('When the video was uploaded'),
  },
  { $id: 'Video' },
);
export type Video = Type.Static<typeof Video>;

export const VideoList = Type.Object(
  {
    videos: Type.Array(Video),
    next: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?before= for the next page' }),
  },
  { $id: 'VideoList' },
);
export type VideoList = Type.Static<typeof VideoList>;

/** GET /api/v1/videos's query. */
export const VideoListParams = Type.Object({
  app: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  before: Type.Optional(Type.String({ description: 'the next of the previous page' })),
});

/** PATCH /api/v1/videos/{id}: only the title changes. */
export const VideoRenameBody = Type.Object(
  { title: Type.String({ minLength: 1, maxLength: 200, 'x-expected': 'a string of 1 to 200 characters' }) },
  { $id: 'VideoRenameBody', additionalProperties: false },
);
export type VideoRenameBody = Type.Static<typeof VideoRenameBody>;

/** POST /api/v1/videos/{id}/retry: how many jobs went back to the queue, and the video. */
export const VideoRetryAnswer = Type.Object({ retried: Type.Integer(), video: Video }, { $id: 'VideoRetryAnswer' });
export type VideoRetryAnswer = Type.Static<typeof VideoRetryAnswer>;

/** POST /api/v1/videos: the multipart form. */
export const VideoUploadForm = Type.Object({
  file: Type.String({ format: 'binary' }),
  title: Type.Optional(Type.String({ maxLength: 200 })),
  appId: Type.Optional(Type.String()),
});
