// Playback: POST /api/v1/videos/{id}/playback grants a signed master-playlist URL and a short-lived QoE
// credential; GET /media/{id}/… serves the playlists (generated per request, every URL in them signed for the
// same viewer and expiry) and the files (streamed, Range, long cache on segments, none on playlists, CORS for
// players on other origins). A bad or expired signature, another video's path, a revoked login or a deleted
// video: 403.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { getRouterParam, HTTPResponse, type H3Event } from 'h3';
import { guestTokenId } from '../../auth/index.ts';
import { VIDEO_ID } from '../../media/index.ts';
import type { VideoRecord } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { callerPrincipal, canSeeApp } from '../require-access.ts';
import { authenticateUser, refuseUnusableGuestToken } from '../require-user.ts';
import { queryParametersOf } from '../read-validated-query.ts';
import { PlaybackGrant, PlaybackGrantParams, SignedMediaParams } from '../../wire/playback.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';
import { signerFor } from '../sign-media.ts';
import { viewerActive } from '../viewer-active.ts';
import { PathParams, pathParameters } from './route-params.ts';

const SEGMENT_CACHE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-store';
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'content-length, content-range, accept-ranges',
};
const [idParam] = pathParameters({ id: PathParams.videoId });
const RENDITION_DIR = /^\d{2,4}p$/;
const RENDITION_FILE = /^(init\.mp4|seg_\d{5,6}\.m4s)$/;
const THUMB_FILE = /^(poster\.jpg|sprite\.jpg)$/;

/** The bearer (or ?token=) of a playback request. */
function presentedToken(event: H3Event): string | null {
  const auth = event.req.headers.get('authorization');
  const m = auth ? /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(auth.trim()) : null;
  return m?.[1] ?? event.url.searchParams.get('token');
}

const grant: RouteDef = {
  method: 'POST',
  path: '/api/v1/videos/:id/playback',
  async handler(event, ctx) {
    const id = getRouterParam(event, 'id') ?? '';
    const notFound = () => new ApiError('NOT_FOUND', `no video ${JSON.stringify(id.slice(0, 64))}`);
    let video: VideoRecord | null = null;
    let viewer: string;
    let expiresAt = Date.now() + ctx.config.playbackUrlTtlSeconds * 1000;
    const token = presentedToken(event);
    // A guest token for this video (the embed page), else a signed-in user of the video's app.
    const guest = token && VIDEO_ID.test(id) ? await ctx.accounts.guest(token, 'view', `video:${id}`) : null;
    if (guest) {
      video = await ctx.media.get(id);
      if (!video) throw notFound();
      viewer = `g.${guestTokenId(token!)}`;
      expiresAt = Math.min(expiresAt, guest.expiresAt);
    } else {
      // A guest token that may not be used here is refused naming why (a signed-in user goes on as a user).
      const refuse = () => refuseUnusableGuestToken(ctx, token, `video:${id}`);
      const caller = await authenticateUser(event, ctx).catch(async (err: unknown) => {
        await refuse();
        throw err;
      });
      if (!caller) {
        await refuse();
        throw new ApiError('UNAUTHORIZED', 'sign in, or send a guest token for this video as Authorization: Bearer');
      }
      video = VIDEO_ID.test(id) ? await ctx.media.get(id) : null;
      if (!video || !canSeeApp(callerPrincipal(caller), video.appId)) throw notFound();
      viewer = `u.${caller.sessionId}`;
    }
    const sign = signerFor(ctx, viewer, expiresAt);
    const master = await ctx.media.masterPlaylist(video, sign);
    if (master === null)
      throw new ApiError('NOT_READY', `video ${video.id} has no playable rendition yet (status ${video.status})`);
    return {
      url: `${event.url.origin}${sign(`/media/${video.id}/master.m3u8`)}`,
      expiresAt,
      qoe: {
        endpoint: '/v1/sessions',
        token: ctx.media.signer.issueCredential({ appId: video.appId, videoId: video.id, expiresAt }),
        expiresAt,
      },
    } satisfies PlaybackGrant;
  },
  openapi: {
    summary: 'Play a video: a signed master playlist URL and a short-lived credential for its QoE session',
    description:
      "Members and admins of the video's app, or the holder of a guest token for video:<id> (Authorization: Bearer, or ?token=). The URL and every URL in the playlists it leads to are signed for this viewer and expire together (playbackUrlTtlSeconds, 2 h by default, never after a guest token). The QoE token lets a player POST /v1/sessions for this video only (contentId = the video id).",
    security: [{ bearer: [] }, { cookie: [] }],
    parameters: [idParam, ...queryParametersOf(PlaybackGrantParams)],
    responses: {
      '200': { description: 'Granted', content: json(PlaybackGrant) },
      ...errorResponses(401, 403, 404, 409, 503),
    },
  },
};

/** Checks the signature of this request's URL; answers the video and the signer for URLs inside playlists. */
async function checkSigned(event: H3Event, ctx: HttpContext) {
  const id = getRouterParam(event, 'id') ?? '';
  const check = ctx.media.signer.verify(event.url.pathname, event.url.searchParams);
  if (!check.ok)
    throw new ApiError(
      'FORBIDDEN',
      check.reason === 'expired'
        ? 'this playback URL has expired; ask for a new one (POST /api/v1/videos/{id}/playback)'
        : check.reason === 'missing'
          ? 'this media URL is not signed; get one from POST /api/v1/videos/{id}/playback'
          : 'this media URL has a bad signature (changed, or for another video)',
    );
  if (!(await viewerActive(ctx, check.viewer)))
    throw new ApiError(
      'FORBIDDEN',
      check.viewer.startsWith('g.')
        ? 'the guest token this playback URL was made for has been revoked'
        : 'the sign-in this playback URL was made for has ended',
    );
  const video = VIDEO_ID.test(id) ? await ctx.media.get(id) : null;
  if (!video) throw new ApiError('FORBIDDEN', 'this video no longer exists');
  return { video, sign: signerFor(ctx, check.viewer, check.expiresAt) };
}

function text(body: string, type: string): HTTPResponse {
  return new HTTPResponse(body, { headers: { 'content-type': type, 'cache-control': NO_CACHE, ...CORS } });
}

/** Streams a file with Range support. */
async function sendFile(event: H3Event, file: string, type: string): Promise<Response | HTTPResponse> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch {
    throw new ApiError('NOT_FOUND', 'no such media file (not ready yet, or not part of this video)');
  }
  const headers: Record<string, string> = {
    'content-type': type,
    'cache-control': SEGMENT_CACHE,
    'accept-ranges': 'bytes',
    ...CORS,
  };
  const range = event.req.headers.get('range');
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') start = Math.max(0, size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start >= size || start > end)
        return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } });
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['content-length'] = String(end - start + 1);
  if (event.req.method === 'HEAD' || size === 0) return new Response(null, { status, headers });
  // A Node stream in an HTTPResponse is piped straight into the socket by h3's Node adapter (srvx): no web
  // stream in between, which is what keeps segment serving near plain node:http.
  return new HTTPResponse(createReadStream(file, { start, end }) as never, { status, headers });
}

const master: RouteDef = {
  method: 'GET',
  path: '/media/:id/master.m3u8',
  async handler(event, ctx) {
    const { video, sign } = await checkSigned(event, ctx);
    const playlist = await ctx.media.masterPlaylist(video, sign);
    if (playlist === null) throw new ApiError('NOT_READY', 'no rendition of this video is ready yet');
    return text(playlist, 'application/vnd.apple.mpegurl');
  },
  openapi: {
    summary: 'Master playlist of a video (signed URL from POST /api/v1/videos/{id}/playback)',
    parameters: [idParam, ...queryParametersOf(SignedMediaParams)],
    responses: {
      '200': { description: 'HLS master playlist', content: { 'application/vnd.apple.mpegurl': {} } },
      ...errorResponses(403, 409),
    },
  },
};

const file: RouteDef = {
  method: 'GET',
  path: '/media/:id/:dir/:file',
  async handler(event, ctx) {
    const { video, sign } = await checkSigned(event, ctx);
    const dir = getRouterParam(event, 'dir') ?? '';
    const name = getRouterParam(event, 'file') ?? '';
    const folder = path.join(ctx.media.paths.videoDir(video.id), dir);
    if (RENDITION_DIR.test(dir)) {
      if (name === 'index.m3u8') {
        const playlist = await ctx.media.mediaPlaylist(video.id, dir, sign);
        if (playlist === null) throw new ApiError('NOT_FOUND', `rendition ${dir} is not ready`);
        return text(playlist, 'application/vnd.apple.mpegurl');
      }
      if (RENDITION_FILE.test(name)) return sendFile(event, path.join(folder, name), 'video/mp4');
    } else if (dir === 'thumbs') {
      if (name === 'thumbs.vtt') {
        const track = await ctx.media.thumbnailsTrack(video.id, sign);
        if (track === null) throw new ApiError('NOT_FOUND', 'the thumbnails are not ready');
        return text(track, 'text/vtt; charset=utf-8');
      }
      if (THUMB_FILE.test(name)) return sendFile(event, path.join(folder, name), 'image/jpeg');
    }
    throw new ApiError('NOT_FOUND', 'no such media file');
  },
  openapi: {
    summary: 'A rendition playlist, init or media segment, poster, sprite or thumbnails track (signed URLs only)',
    description:
      'Segments support Range and are cached for a year (immutable); playlists are generated per request and not cached. CORS allows any origin (the signature is the credential).',
    parameters: [
      ...pathParameters({ id: PathParams.videoId, dir: PathParams.renditionDir, file: PathParams.mediaFile }),
      ...queryParametersOf(SignedMediaParams),
    ],
    responses: {
      '200': { description: 'The file' },
      '206': { description: 'Part of the file (Range)' },
      ...errorResponses(403, 404),
    },
  },
};

const preflight: RouteDef = {
  method: 'OPTIONS',
  path: '/media/**',
  handler() {
    return new Response(null, {
      status: 204,
      headers: {
        ...CORS,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': 'range',
        'access-control-max-age': '86400',
      },
    });
  },
  openapi: { notInApi: 'CORS preflight for players on other origins (any /media/ path)' },
};

export const playbackRoutes: RouteDef[] = [grant, master, file, preflight];
