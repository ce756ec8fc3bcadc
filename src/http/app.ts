// The h3 application: the route table, request ids, the request log, metrics and the error envelope.
import { randomUUID } from 'node:crypto';
import { H3, type H3Event } from 'h3';
import type { HttpContext, RequestState, RouteDef } from './context.ts';
import { requestState } from './context.ts';
import { errorEnvelope, toApiError } from './errors.ts';
import { buildOpenApi } from './openapi.ts';
import { capForLog, loggablePath, RejectionSampler } from './request-log.ts';
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

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UNLOGGED_ROUTES = new Set(['/health']);

export interface HttpApp {
  app: H3;
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

  const rejections = new RejectionSampler();
  const app = new H3({
    silent: true,
    onRequest(event) {
      const incoming = event.req.headers.get('x-request-id');
      const state: RequestState = {
        started: performance.now(),
        requestId: incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID(),
      };
      (event.context as { m3w?: RequestState }).m3w = state;
      event.res.headers.set('x-request-id', state.requestId);
    },
    onError(error, event) {
      const { error: apiError, internal } = toApiError(error);
      const state = requestState(event);
      if (state) state.errorCode = apiError.code;
      if (internal) ctx.logger.error({ err: internal, reqId: state?.requestId }, 'request failed');
      const headers = new Headers(event.res.headers);
      headers.set('content-type', 'application/json');
      for (const [k, v] of Object.entries(apiError.headers ?? {})) headers.set(k, v);
      return new Response(JSON.stringify(errorEnvelope(apiError)), { status: apiError.status, headers });
    },
    onResponse(response, event) {
      applySecurityHeaders(response.headers, event.context.matchedRoute?.route);
      const state = requestState(event);
      if (!state) return;
      const route = event.context.matchedRoute?.route ?? 'unmatched';
      const method = event.req.method;
      const seconds = (performance.now() - state.started) / 1000;
      ctx.metrics.httpRequests.inc({ method, route, status: response.status });
      ctx.metrics.httpDuration.observe({ method, route }, seconds);
      if (route === '/v1/sessions' && method === 'POST' && state.errorCode)
        ctx.metrics.sessionsRejected.inc({ code: state.errorCode });
      if (UNLOGGED_ROUTES.has(route)) return;
      const status = response.status;
      const line: Record<string, unknown> = {
        method,
        route,
        path: loggablePath(event.url.pathname, event.context.params),
        status,
        ms: Math.round(seconds * 10000) / 10,
        reqId: state.requestId,
      };
      if (status >= 400 && status < 500) {
        const address = clientAddress(event, ctx.config.trustProxy);
        const sample = rejections.admit(`${status} ${method} ${route} ${address}`);
        if (!sample.log) return;
        if (sample.suppressed > 0) line.suppressed = sample.suppressed;
        line.ua = capForLog(event.req.headers.get('user-agent') ?? '');
      }
      ctx.logger.info(line, 'request');
    },
  });

  for (const r of routes) app.on(r.method, r.path, (event: H3Event) => r.handler(event, ctx));
  return { app, routes, openapi };
}
