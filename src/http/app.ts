// The h3 application: the route table, request ids, the request log, metrics and the error envelope.
import { H3, type H3Event } from 'h3';
import type { HttpContext, RequestState, RouteDef } from './context.ts';
import { requestState } from './context.ts';
import { buildOpenApi } from './openapi.ts';
import { loggablePath } from './request-log.ts';
import { errorAnswer, RequestRecorder, startRequest } from './request-record.ts';
import { type NodeFastPath, sessionsFastPath } from './sessions-fast-path.ts';
import { clientAddress } from './client-address.ts';
import { applySecurityHeaders } from './security-headers.ts';
import { appRoutes } from './routes/apps.ts';
import { auditRoutes } from './routes/audit.ts';
import { authRoutes } from './routes/auth.ts';
import { operationRoutes } from './routes/operations.ts';
import { userRoutes } from './routes/users.ts';
import { sessionRoutes, sessionSchemas } from './routes/sessions.ts';
import { webRoutes } from './routes/web-routes.ts';
import { momentRoutes } from './routes/analytics-moments.ts';
import { qoeRoutes } from './routes/analytics-qoe.ts';
import { streamRoutes } from './routes/analytics-streams.ts';
import { webhookRoutes, webhookSchemas } from './routes/webhook.ts';
import { videoRoutes } from './routes/videos.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { playbackRoutes } from './routes/playback.ts';
import { roomRoutes } from './routes/rooms.ts';
import { channelRoutes } from './routes/notification-channels.ts';
import { alertRoutes } from './routes/alert-rules.ts';

export interface HttpApp {
  app: H3;
  /** POST /v1/sessions on node:http ahead of the h3 app (same answers, without the web Request layer). */
  fastPath: NodeFastPath;
  routes: RouteDef[];
  openapi: Record<string, unknown>;
}

export function createHttpApp(ctx: HttpContext): HttpApp {
  const routes: RouteDef[] = [
    ...sessionRoutes,
    ...operationRoutes,
    ...webhookRoutes,
    ...streamRoutes,
    ...momentRoutes,
    ...qoeRoutes,
    ...channelRoutes,
    ...alertRoutes,
    ...authRoutes,
    ...userRoutes,
    ...appRoutes,
    ...auditRoutes,
    ...videoRoutes,
    ...uploadRoutes,
    ...playbackRoutes,
    ...roomRoutes,
    // Last: the dashboard's catch-all page route.
    ...webRoutes,
  ];
  const openapiRoute: RouteDef = {
    method: 'GET',
    path: '/openapi.json',
    handler: () => openapi,
    openapi: { summary: 'This OpenAPI 3.1 document', responses: { '200': { description: 'OpenAPI document' } } },
  };
  routes.push(openapiRoute);
  const openapi = buildOpenApi(routes, ctx.version, {
    ...sessionSchemas,
    ...webhookSchemas,
  });

  const recorder = new RequestRecorder(ctx);
  const app = new H3({
    silent: true,
    onRequest(event) {
      const state = startRequest(event.req.headers.get('x-request-id'));
      (event.context as { m3w?: RequestState }).m3w = state;
      event.res.headers.set('x-request-id', state.requestId);
    },
    onError(error, event) {
      const answer = errorAnswer(ctx, error, requestState(event));
      const headers = new Headers(event.res.headers);
      headers.set('content-type', 'application/json');
      for (const [k, v] of Object.entries(answer.headers)) headers.set(k, v);
      return new Response(answer.body, { status: answer.status, headers });
    },
    onResponse(response, event) {
      applySecurityHeaders(response.headers, event.context.matchedRoute?.route);
      const state = requestState(event);
      if (!state) return;
      recorder.record({
        method: event.req.method,
        route: event.context.matchedRoute?.route ?? 'unmatched',
        path: () => loggablePath(event.url.pathname, event.context.params),
        status: response.status,
        state,
        address: () => clientAddress(event, ctx.config.trustProxy),
        userAgent: () => event.req.headers.get('user-agent'),
      });
    },
  });

  for (const r of routes) app.on(r.method, r.path, (event: H3Event) => r.handler(event, ctx));
  return { app, routes, openapi, fastPath: sessionsFastPath(ctx, recorder) };
}
