// What every answered request leaves behind, in one place for the h3 app and the node:http fast path of
// POST /v1/sessions: its request id, the error envelope of a failure, the metrics and the one log line.
import { randomUUID } from 'node:crypto';
import type { HttpContext, RequestState } from './context.ts';
import { errorEnvelope, toApiError } from './errors.ts';
import { capForLog, RejectionSampler } from './request-log.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UNLOGGED_ROUTES = new Set(['/health']);

/** The state of a request that just arrived, keeping the client's X-Request-Id when it is a sane one. */
export function startRequest(incomingId: string | null): RequestState {
  return {
    started: performance.now(),
    requestId: incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID(),
  };
}

export interface ErrorAnswer {
  status: number;
  /** The error's own headers (Retry-After, Connection: close), besides Content-Type. */
  headers: Record<string, string>;
  body: string;
}

/** The JSON error answer for anything thrown; a cause that is not the client's fault is logged. */
export function errorAnswer(ctx: HttpContext, thrown: unknown, state: RequestState | undefined): ErrorAnswer {
  const { error, internal } = toApiError(thrown);
  if (state) state.errorCode = error.code;
  if (internal) ctx.logger.error({ err: internal, reqId: state?.requestId }, 'request failed');
  return { status: error.status, headers: error.headers ?? {}, body: JSON.stringify(errorEnvelope(error)) };
}

export interface AnsweredRequest {
  method: string;
  /** The matched route pattern, or 'unmatched'. */
  route: string;
  /** Called only when the line is written: the path as logged (loggablePath). */
  path: () => string;
  status: number;
  state: RequestState;
  /** Called only for a 4xx: the client's address and user agent. */
  address: () => string;
  userAgent: () => string | null;
}

/** Counts every request in the metrics and writes its log line (rejections sampled per kind). */
export class RequestRecorder {
  private readonly rejections = new RejectionSampler();

  constructor(private readonly ctx: HttpContext) {}

  record(r: AnsweredRequest): void {
    const { method, route, status, state } = r;
    const seconds = (performance.now() - state.started) / 1000;
    const metrics = this.ctx.metrics;
    metrics.httpRequests.inc({ method, route, status });
    metrics.httpDuration.observe({ method, route }, seconds);
    if (route === '/v1/sessions' && method === 'POST' && state.errorCode)
      metrics.sessionsRejected.inc({ code: state.errorCode });
    if (UNLOGGED_ROUTES.has(route)) return;
    const line: Record<string, unknown> = {
      method,
      route,
      path: r.path(),
      status,
      ms: Math.round(seconds * 10000) / 10,
      reqId: state.requestId,
    };
    if (status >= 400 && status < 500) {
      const sample = this.rejections.admit(`${status} ${method} ${route} ${r.address()}`);
      if (!sample.log) return;
      if (sample.suppressed > 0) line.suppressed = sample.suppressed;
      line.ua = capForLog(r.userAgent() ?? '');
    }
    this.ctx.logger.info(line, 'request');
  }
}
