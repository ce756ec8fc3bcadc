// The video library's resources: POST /api/v1/videos (multipart upload, 202), GET /api/v1/videos?app= (paged),
// GET/PATCH/DELETE /api/v1/videos/{id}, POST /api/v1/videos/{id}/retry. Admins and members with access to the
// video's app; another app's video answers 404.
import { getRouterParam, type H3Event } from 'h3';
import { VIDEO_ID, type VideoView } from '../../media/index.ts';
import type { VideoRecord } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { callerPrincipal, canSeeApp, resolveApp, type Principal } from '../require-access.ts';
import { userSigner } from '../sign-media.ts';
import { requireUser, type Caller } from '../require-user.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { queryParametersOf, queryReader } from '../read-validated-query.ts';
import {
  Video,
  VideoList,
  VideoListParams,
  VideoRenameBody,
  VideoRetryAnswer,
  VideoUploadForm,
} from '../../wire/videos.ts';
import { appQuery, pathParameters, PathParams } from './route-params.ts';

const readListQuery = queryReader(VideoListParams);
const readRename = bodyReader(VideoRenameBody);
const [idParam] = pathParameters({ id: PathParams.videoId });

/** The video named by the path, when the caller's apps include its app; 404 otherwise. */
export async function visibleVideo(event: H3Event, ctx: HttpContext, principal: Principal): Promise<VideoRecord> {
  const id = getRouterParam(event, 'id') ?? '';
  const video = VIDEO_ID.test(id) ? await ctx.media.get(id) : null;
  if (!video || !canSeeApp(principal, video.appId))
    throw new ApiError('NOT_FOUND', `no video ${JSON.stringify(id.slice(0, 64))}`);
  return video;
}

const view = (ctx: HttpContext, caller: Caller, v: VideoRecord): Promise<VideoView> =>
  ctx.media.view(v, userSigner(ctx, caller));

const upload: RouteDef = {
  method: 'POST',
  path: '/api/v1/videos',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const principal = callerPrincipal(caller);
    const length = event.req.headers.get('content-length');
    const video = await ctx.media.uploadMultipart(
      event.req.body,
      event.req.headers.get('content-type'),
      length !== null && /^\d{1,16}$/.test(length) ? Number(length) : null,
      async (fields) => resolveApp(ctx, principal, event.url.searchParams.get('app') ?? fields.appId),
    );
    event.res.status = 202;
    return view(ctx, caller, video);
  },
  openapi: {
    summary: 'Upload a video (multipart/form-data: file, title, appId); it is probed, then queued for transcoding',
    description:
      'The file is streamed to disk and checked with ffprobe before a job is queued; a file that is no usable video is refused and its bytes deleted. For large files or unreliable networks use the resumable tus endpoint /api/v1/uploads.',
    security: userBearer,
    parameters: queryParametersOf(appQuery('App id, or the appId form field')),
    requestBody: { required: true, content: { 'multipart/form-data': { schema: VideoUploadForm } } },
    responses: {
      '202': { description: 'Accepted and queued', content: json(Video) },
      ...errorResponses(400, 401, 403, 404, 413, 415, 503, 507),
    },
  },
};

const list: RouteDef = {
  method: 'GET',
  path: '/api/v1/videos',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const { app, limit = 50, before: raw } = readListQuery(event); // the reader fills in limit's default
    const appId = await resolveApp(ctx, callerPrincipal(caller), app);
    let before: { createdAt: number; id: string } | undefined;
    if (raw) {
      const m = /^(\d{1,15})\.([A-Za-z0-9_-]{8,64})$/.exec(raw);
      if (!m) throw new ApiError('INVALID_SCHEMA', 'before must be the "next" value of the previous page');
      before = { createdAt: Number(m[1]), id: m[2]! };
    }
    const page = await ctx.media.list(appId, limit, before);
    const last = page.videos.at(-1);
    return {
      videos: await Promise.all(page.videos.map((v) => view(ctx, caller, v))),
      next: page.hasMore && last ? `${last.createdAt}.${last.id}` : null,
    } satisfies VideoList;
  },
  openapi: {
    summary: "An app's videos, newest first, a page at a time",
    security: userBearer,
    parameters: queryParametersOf(VideoListParams),
    responses: {
      '200': { description: 'A page of videos', content: json(VideoList) },
      ...errorResponses(400, 401, 403, 404, 503),
    },
  },
};

const get: RouteDef = {
  method: 'GET',
  path: '/api/v1/videos/:id',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    return view(ctx, caller, await visibleVideo(event, ctx, callerPrincipal(caller)));
  },
  openapi: {
    summary: "A video's status, transcode progress and renditions (live: WebSocket topic video:<id>)",
    security: userBearer,
    parameters: [idParam],
    responses: { '200': { description: 'The video', content: json(Video) }, ...errorResponses(401, 403, 404, 503) },
  },
};

const patch: RouteDef = {
  method: 'PATCH',
  path: '/api/v1/videos/:id',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const video = await visibleVideo(event, ctx, callerPrincipal(caller));
    const body = await readRename(event);
    const renamed = await ctx.media.rename(video.id, body.title);
    if (!renamed) throw new ApiError('NOT_FOUND', `no video ${JSON.stringify(video.id)}`);
    return view(ctx, caller, renamed);
  },
  openapi: {
    summary: 'Rename a video ({title})',
    security: userBearer,
    parameters: [idParam],
    requestBody: { required: true, content: json(VideoRenameBody) },
    responses: {
      '200': { description: 'Renamed', content: json(Video) },
      ...errorResponses(400, 401, 403, 404, 503),
    },
  },
};

const remove: RouteDef = {
  method: 'DELETE',
  path: '/api/v1/videos/:id',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const video = await visibleVideo(event, ctx, callerPrincipal(caller));
    await ctx.media.remove(video.id);
    event.res.status = 204;
    return null;
  },
  openapi: {
    summary: 'Delete a video: its transcode is stopped, every file removed, its playback URLs stop working',
    security: userBearer,
    parameters: [idParam],
    responses: { '204': { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
  },
};

const retry: RouteDef = {
  method: 'POST',
  path: '/api/v1/videos/:id/retry',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const video = await visibleVideo(event, ctx, callerPrincipal(caller));
    const retried = await ctx.media.retry(video.id);
    return { retried, video: await view(ctx, caller, (await ctx.media.get(video.id)) ?? video) };
  },
  openapi: {
    summary: 'Retry the failed renditions (and thumbnails) of a video; the others are kept',
    security: userBearer,
    parameters: [idParam],
    responses: {
      '200': {
        description: 'How many jobs went back to the queue, and the video',
        content: json(VideoRetryAnswer),
      },
      ...errorResponses(401, 403, 404, 503),
    },
  },
};

export const videoRoutes: RouteDef[] = [upload, list, get, patch, remove, retry];
