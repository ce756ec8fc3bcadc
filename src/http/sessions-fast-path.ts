// POST /v1/sessions straight on node:http, ahead of h3: the route every SDK calls once per playback, where
// h3/srvx's web Request, Headers and Response objects cost more than the rest of the request's main-thread work.
// It runs the route's own function (ingestSessions: key or playback credential, CORS, rate limits, body, budget,
// validation, commit) and the app's own request id, error envelope, security headers, metrics and log line, so
// the answer is the h3 route's; anything else (another method, a trailing slash) goes on to h3.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpContext } from './context.ts';
import { NodeExchange } from './exchange.ts';
import { clientAddress } from './client-address.ts';
import { loggablePath } from './request-log.ts';
import { errorAnswer, type RequestRecorder, startRequest } from './request-record.ts';
import { ingestSessions } from './routes/sessions.ts';
import { applySecurityHeaders } from './security-headers.ts';

const ROUTE = '/v1/sessions';
const LOGGED_PATH = loggablePath(ROUTE, undefined);

/** Serves the request and returns true when it is POST /v1/sessions; false leaves it to h3. */
export type NodeFastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function sessionsFastPath(ctx: HttpContext, recorder: RequestRecorder): NodeFastPath {
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const exchange = new NodeExchange(req);
    const headers = exchange.res.headers;
    const state = startRequest(exchange.req.headers.get('x-request-id'));
    headers.set('x-request-id', state.requestId);
    let status = 200;
    let body: string;
    try {
      body = JSON.stringify(await ingestSessions(exchange, ctx));
      headers.set('content-type', 'application/json;charset=UTF-8');
    } catch (thrown) {
      const failed = errorAnswer(ctx, thrown, state);
      status = failed.status;
      body = failed.body;
      headers.set('content-type', 'application/json');
      for (const [k, v] of Object.entries(failed.headers)) headers.set(k, v);
    }
    applySecurityHeaders(headers, ROUTE);
    headers.set('content-length', String(Buffer.byteLength(body)));
    res.writeHead(status, headers.toFlatList());
    res.end(body);
    recorder.record({
      method: 'POST',
      route: ROUTE,
      path: () => LOGGED_PATH,
      status,
      state,
      address: () => clientAddress(exchange, ctx.config.trustProxy),
      userAgent: () => exchange.req.headers.get('user-agent'),
    });
  };
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'POST' || url === undefined || !(url === ROUTE || url.startsWith(`${ROUTE}?`))) return false;
    answer(req, res).catch((err: unknown) => {
      // Only writing the answer can fail here (everything before it becomes an error answer).
      ctx.logger.error({ err }, 'request failed');
      res.destroy();
    });
    return true;
  };
}
