// Resumable uploads with tus 1.0 (creation, PATCH with Upload-Offset, HEAD to resume, termination) at
// /api/v1/uploads, by @tus/server on its web-standard handler. The upload id is the video id: a video row in
// "uploading" exists from creation on, so the dashboard can show it; when the last byte arrives the file is
// probed and queued like a multipart upload (or refused with 400/415 and deleted). Each request is
// authenticated here first; another app's upload answers 404. Free disk is checked at creation, before every
// PATCH and every few megabytes while its bytes arrive (507; what arrived is kept for a resume).
import { chmod } from 'node:fs/promises';
import type { Server, Upload } from '@tus/server';
import { getRouterParam, type H3Event } from 'h3';
import { cleanTitle, ensureRoom, titleFromFilename, UNTITLED, VIDEO_ID } from '../../media/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError, errorEnvelope, toApiError, type ErrorCode } from '../errors.ts';
import { callerPrincipal, canSeeApp, resolveApp, type Principal } from '../require-access.ts';
import { requireUser } from '../require-user.ts';
import { parametersOf, queryParametersOf } from '../read-validated-query.ts';
import { TusCreateHeaders, TusHeaders, TusPatchHeaders } from '../../wire/uploads.ts';
import { errorResponses, userBearer } from './openapi-shared.ts';
import { appQuery, pathParameters, PathParams } from './route-params.ts';

const PATH = '/api/v1/uploads';
const DISK_CHECK_EVERY = 8 * 1024 * 1024;
const servers = new WeakMap<HttpContext, Promise<Server>>();
/** Who is creating an upload, handed from the route to the tus hooks (same Request object). */
const creating = new WeakMap<object, { principal: Principal; app: string | undefined; id: string }>();
/** Why a request's body was cut off (tus reports any body error as a 400 "aborted"; ours is a 507). */
const bodyRefusals = new WeakMap<Request, unknown>();

/** A tus hook's refusal, with the JSON error envelope as its body. */
function refusal(err: unknown): { status_code: number; body: string } {
  const { error } = toApiError(err);
  return { status_code: error.status, body: JSON.stringify(errorEnvelope(error)) };
}

const TUS_CODES: Record<number, ErrorCode> = {
  400: 'INVALID_SCHEMA',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'INVALID_SCHEMA',
  410: 'NOT_FOUND',
  412: 'INVALID_SCHEMA',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The app's tus server, made on the first upload: the tus packages are loaded only by a server that takes uploads. */
function tusServer(ctx: HttpContext): Promise<Server> {
  let server = servers.get(ctx);
  if (!server) {
    server = makeTusServer(ctx);
    servers.set(ctx, server);
  }
  return server;
}

async function makeTusServer(ctx: HttpContext): Promise<Server> {
  const [{ Server }, { FileStore }] = await Promise.all([import('@tus/server'), import('@tus/file-store')]);
  const media = ctx.media;
  return new Server({
    path: PATH,
    datastore: new FileStore({ directory: media.paths.uploads }),
    maxSize: ctx.config.maxUploadBytes,
    relativeLocation: true,
    respectForwardedHeaders: ctx.config.trustProxy,
    exposedHeaders: ['X-Video-Id'],
    namingFunction: (req) => {
      const c = creating.get(req);
      if (!c) throw { status_code: 500, body: 'upload without a caller' };
      return c.id;
    },
    async onUploadCreate(req, upload: Upload) {
      const c = creating.get(req);
      try {
        if (!c) throw new Error('upload without a caller');
        if (upload.size === undefined)
          throw new ApiError('INVALID_SCHEMA', 'Upload-Length is required (deferred length is not supported)');
        await ensureRoom(media.paths.uploads, upload.size, ctx.config.minFreeDiskBytes);
        const meta = upload.metadata ?? {};
        const appId = await resolveApp(ctx, c.principal, c.app ?? meta.appId ?? meta.app ?? undefined);
        const title = cleanTitle(meta.title ?? titleFromFilename(meta.filename ?? meta.name), UNTITLED);
        await media.createUpload(upload.id, appId, title, upload.size);
      } catch (err) {
        throw refusal(err);
      }
      return {};
    },
    async onIncomingRequest(req, id) {
      if (req.method !== 'PATCH') return;
      try {
        const length = Number(req.headers.get('content-length') ?? 0);
        await ensureRoom(media.paths.uploads, Number.isFinite(length) ? length : 0, ctx.config.minFreeDiskBytes);
        await media.touch(id);
        // The tus store creates its files with the default mode; ours are private.
        for (const f of [media.paths.tusFile(id), `${media.paths.tusFile(id)}.json`])
          await chmod(f, 0o600).catch(() => {});
      } catch (err) {
        throw refusal(err);
      }
    },
    async onUploadFinish(_req, upload: Upload) {
      try {
        await chmod(media.paths.tusFile(upload.id), 0o600).catch(() => {});
        const video = await media.finishUpload(upload.id);
        return { headers: { 'X-Video-Id': video.id } };
      } catch (err) {
        throw refusal(err);
      }
    },
    onResponseError(_req, err) {
      const e = err as { status_code?: number; body?: string; message?: string };
      const status = e.status_code ?? 500;
      if (typeof e.body === 'string' && e.body.startsWith('{')) return { status_code: status, body: e.body };
      const code = TUS_CODES[status] ?? 'INTERNAL_ERROR';
      const message = status >= 500 ? 'internal error; it has been logged' : (e.body ?? e.message ?? '').trim();
      if (status >= 500) ctx.logger.error({ err }, 'tus upload failed');
      const envelope = errorEnvelope(new ApiError(code, message || `upload refused (${status})`));
      return { status_code: status, body: JSON.stringify(envelope) };
    },
  });
}

/** The upload named in the path, when the caller may see its app; 404 otherwise. */
async function ownUpload(event: H3Event, ctx: HttpContext, principal: Principal): Promise<string> {
  const id = getRouterParam(event, 'id') ?? '';
  const video = VIDEO_ID.test(id) ? await ctx.media.get(id) : null;
  if (!video || !canSeeApp(principal, video.appId) || video.status !== 'uploading')
    throw new ApiError('NOT_FOUND', `no upload ${JSON.stringify(id.slice(0, 64))} in progress`);
  return id;
}

/**
 * The request with its body re-checking the free-disk margin every few megabytes: a chunked PATCH announces no
 * length, and uploads created together each passed the check at creation.
 */
function diskChecked(req: Request, ctx: HttpContext): Request {
  if (!req.body) return req;
  let unchecked = 0;
  const body = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, out) {
        unchecked += chunk.byteLength;
        if (unchecked >= DISK_CHECK_EVERY) {
          unchecked = 0;
          try {
            await ensureRoom(ctx.media.paths.uploads, 0, ctx.config.minFreeDiskBytes);
          } catch (err) {
            bodyRefusals.set(checked, err);
            throw err;
          }
        }
        out.enqueue(chunk);
      },
    }),
  );
  const checked = new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    duplex: 'half',
  } as RequestInit);
  return checked;
}

async function delegate(event: H3Event, ctx: HttpContext, req: Request = event.req): Promise<Response> {
  const res = await (await tusServer(ctx)).handleWeb(req as never);
  if (bodyRefusals.has(req)) {
    const { error } = toApiError(bodyRefusals.get(req));
    return new Response(JSON.stringify(errorEnvelope(error)), {
      status: error.status,
      headers: { 'content-type': 'application/json', 'tus-resumable': '1.0.0' },
    });
  }
  if (res.status < 400) return res;
  // Every refusal is our JSON envelope, including those tus writes itself (412 without Tus-Resumable…).
  const text = await res.text();
  const headers = new Headers(res.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  const body = text.startsWith('{')
    ? text
    : JSON.stringify(
        errorEnvelope(
          new ApiError(TUS_CODES[res.status] ?? 'INTERNAL_ERROR', text.trim() || `upload refused (${res.status})`),
        ),
      );
  return new Response(body, { status: res.status, headers });
}

const create: RouteDef = {
  method: 'POST',
  path: PATH,
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    await ctx.media.requireFfmpeg();
    // Our store has no concatenation; @tus/server would answer 501, which reads as our own failure.
    if (event.req.headers.has('upload-concat'))
      throw new ApiError('INVALID_SCHEMA', 'Upload-Concat: the tus concatenation extension is not supported');
    const principal = callerPrincipal(caller);
    const req = diskChecked(event.req, ctx);
    creating.set(req, {
      principal,
      app: event.url.searchParams.get('app') ?? undefined,
      id: ctx.media.newVideoId(),
    });
    return delegate(event, ctx, req);
  },
  openapi: {
    summary: 'Create a resumable upload (tus 1.0 creation; Upload-Length, Upload-Metadata: title, filename, appId)',
    description:
      'The tus protocol (tus-js-client, Uppy): Location names the upload, whose id is the video id. When the last byte arrives the file is probed and queued; the final PATCH answers X-Video-Id, or 400/415 when the file is no usable video (its bytes are deleted).',
    security: userBearer,
    parameters: [
      ...queryParametersOf(appQuery('App id, or appId in Upload-Metadata')),
      ...parametersOf(TusCreateHeaders, 'header'),
    ],
    responses: {
      '201': { description: 'Created; Location is the upload URL' },
      ...errorResponses(400, 401, 403, 404, 413, 503, 507),
    },
  },
};

const resumeOps = (method: 'HEAD' | 'PATCH' | 'DELETE', summary: string, ok: string): RouteDef => ({
  method,
  path: `${PATH}/:id`,
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const id = await ownUpload(event, ctx, callerPrincipal(caller));
    const res = await delegate(event, ctx, method === 'PATCH' ? diskChecked(event.req, ctx) : event.req);
    // Termination: the video that was being uploaded goes with its bytes.
    if (method === 'DELETE' && res.status === 204) await ctx.media.remove(id);
    return res;
  },
  openapi: {
    summary,
    security: userBearer,
    parameters: [
      ...pathParameters({ id: PathParams.videoId }),
      ...parametersOf(method === 'PATCH' ? TusPatchHeaders : TusHeaders, 'header'),
    ],
    responses: { '2XX': { description: ok }, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 507) },
  },
});

const preflight = (path: string): RouteDef => ({
  method: 'OPTIONS',
  path,
  handler: (event, ctx) => delegate(event, ctx),
  openapi: { summary: 'tus capabilities and CORS preflight', responses: { '204': { description: 'tus options' } } },
});

export const uploadRoutes: RouteDef[] = [
  create,
  resumeOps('HEAD', 'Where a resumable upload stands (Upload-Offset)', 'Upload-Offset and Upload-Length'),
  resumeOps('PATCH', 'Send bytes of a resumable upload at Upload-Offset', 'Accepted; the new Upload-Offset'),
  resumeOps('DELETE', 'Abandon a resumable upload (its bytes and video are deleted)', 'Terminated'),
  preflight(PATH),
  preflight(`${PATH}/:id`),
];
