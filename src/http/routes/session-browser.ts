// The sessions page's API, for people (a signed-in user or a read key): recent sessions of an app with filters
// and keyset paging, and one session with every field and its raw payload. Another app's session is a 404.
import type { H3Event } from 'h3';
import Type, { type Static } from 'typebox';
import { csvRow } from '../../tools/csv.ts';
import type { SessionListQuery } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { requireReader, resolveApp } from '../require-access.ts';
import { queryParametersOf, queryReader } from '../read-validated-query.ts';
import { SessionDetail, SessionFilters, SessionListParams, SessionPage, type SessionRow } from '../../wire/sessions.ts';
import { csvResponse, errorResponses, jsonContent as json } from './openapi-shared.ts';
import { pathParameters, PathParams, sessionIdOf } from './route-params.ts';

/** GET /api/v1/sessions/{sessionId}'s query: the app. */
const SessionDetailParams = Type.Object({ app: SessionFilters.properties.app });

const readListQuery = queryReader(SessionListParams);
const readFilters = queryReader(SessionFilters);
const readDetailQuery = queryReader(SessionDetailParams);

/** The cursor is opaque to clients: the last row's timestamp and id, base64url. */
const encodeCursor = (timestamp: number, id: number) => Buffer.from(`${timestamp}.${id}`).toString('base64url');
function decodeCursor(cursor: string): { timestamp: number; id: number } {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m)
    throw new ApiError('INVALID_SCHEMA', 'cursor must be the nextCursor of a previous answer, passed back unchanged');
  return { timestamp: Number(m[1]), id: Number(m[2]) };
}

/**
 * The Sessions page's filters (app, from, to, contentId, content, errorsOnly, device, q), checked after the
 * caller is (a 401 before any 400); `read` reads them with the route's other parameters.
 */
async function sessionFilters<Q extends Static<typeof SessionFilters>>(
  event: H3Event,
  ctx: HttpContext,
  read: (event: H3Event) => Q,
): Promise<{ q: Q; query: SessionListQuery }> {
  const principal = await requireReader(event, ctx);
  const q = read(event);
  const appId = await resolveApp(ctx, principal, q.app);
  if (q.from !== undefined && q.to !== undefined && q.to <= q.from)
    throw new ApiError('INVALID_SCHEMA', `to must be after from, got from ${q.from} and to ${q.to}`);
  const query: SessionListQuery = {
    appId,
    from: q.from,
    to: q.to,
    contentId: q.contentId,
    content: q.content,
    errorsOnly: q.errorsOnly === true,
    device: q.device,
    sessionIdPrefix: q.q,
    limit: 50,
  };
  return { q, query };
}

const listSessions: RouteDef = {
  method: 'GET',
  path: '/api/v1/sessions',
  async handler(event, ctx) {
    const { q, query: filters } = await sessionFilters(event, ctx, readListQuery);
    const appId = filters.appId;
    const query: SessionListQuery = {
      ...filters,
      limit: q.limit as number, // the schema's default when absent
      after: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
    };
    const page = await ctx.store.listSessions(query);
    const last = page.sessions.at(-1);
    return {
      app: appId,
      sessions: page.sessions.map(({ id: _rowId, ...rest }): SessionRow => rest),
      nextCursor: page.hasMore && last ? encodeCursor(last.timestamp, last.id) : null,
    } satisfies SessionPage;
  },
  openapi: {
    summary: "An app's sessions, newest first, with filters (for the dashboard and for SDK integration checks)",
    security: [{ apiKey: [] }],
    parameters: queryParametersOf(SessionListParams),
    responses: {
      '200': { description: 'A page of sessions', content: json(SessionPage) },
      ...errorResponses(400, 401, 403, 404, 429, 503),
    },
  },
};

const getSessionDetail: RouteDef = {
  method: 'GET',
  path: '/api/v1/sessions/:sessionId',
  async handler(event, ctx) {
    const principal = await requireReader(event, ctx);
    const appId = await resolveApp(ctx, principal, readDetailQuery(event).app);
    const sessionId = sessionIdOf(event);
    const stored = await ctx.store.getSession(appId, sessionId);
    if (!stored)
      throw new ApiError('NOT_FOUND', `no session ${JSON.stringify(sessionId)} in app ${JSON.stringify(appId)}`);
    return {
      app: appId,
      sessionId: stored.sessionId,
      timestamp: stored.timestamp,
      receivedAt: stored.receivedAt,
      payload: JSON.parse(stored.payload) as Record<string, unknown>,
    } satisfies SessionDetail;
  },
  openapi: {
    summary: 'One session of an app: its fields and the raw payload as the SDK sent it',
    security: [{ apiKey: [] }],
    parameters: [...pathParameters({ sessionId: PathParams.sessionId }), ...queryParametersOf(SessionDetailParams)],
    responses: {
      '200': { description: 'The session', content: json(SessionDetail) },
      ...errorResponses(400, 401, 403, 404, 429, 503),
    },
  },
};

/** The CSV columns, in order: the Sessions page's fields. */
const CSV_COLUMNS = [
  'sessionId',
  'timestamp',
  'time',
  'receivedAt',
  'sessionDurationMs',
  'contentId',
  'contentTitle',
  'streamType',
  'playerName',
  'appVersion',
  'deviceModel',
  'os',
  'osVersion',
  'country',
  'cdn',
  'startupTimeMs',
  'rebufferTimeMs',
  'rebufferRatio',
  'playTimeMs',
  'totalDroppedFrames',
  'meanVideoFormatBitrate',
  'errorCount',
  'errorCode',
] as const;
const CSV_PAGE = 1000;

const sessionsCsv: RouteDef = {
  method: 'GET',
  path: '/api/v1/sessions.csv',
  async handler(event, ctx) {
    const { query } = await sessionFilters(event, ctx, readFilters);
    // Streamed a page at a time (keyset paging), so any number of sessions goes out in bounded memory and the
    // event loop serves others between pages.
    let after: SessionListQuery['after'];
    let header = true;
    let done = false;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (header) {
          header = false;
          controller.enqueue(encoder.encode(csvRow(CSV_COLUMNS)));
          return;
        }
        if (done) return controller.close();
        const page = await ctx.store.listSessions({ ...query, limit: CSV_PAGE, after });
        let out = '';
        for (const s of page.sessions) {
          const row = s as unknown as Record<string, string | number | null>;
          out += csvRow(CSV_COLUMNS.map((c) => (c === 'time' ? new Date(s.timestamp).toISOString() : row[c])));
        }
        const last = page.sessions.at(-1);
        if (!page.hasMore || !last) done = true;
        else after = { timestamp: last.timestamp, id: last.id };
        if (out) controller.enqueue(encoder.encode(out));
        if (done) controller.close();
      },
    });
    return new Response(body, {
      headers: {
        'content-type': 'text/csv; charset=utf-8; header=present',
        'content-disposition': `attachment; filename="sessions-${query.appId}.csv"`,
        'cache-control': 'no-store',
      },
    });
  },
  openapi: {
    summary: "An app's sessions as CSV (the Sessions page's filters; every matching session, newest first, streamed)",
    description:
      'RFC 4180 with a header row; a text cell starting with =, +, -, @, tab or CR gets a leading apostrophe so spreadsheets do not run it as a formula.',
    security: [{ apiKey: [] }],
    parameters: queryParametersOf(SessionFilters),
    responses: {
      '200': csvResponse('Every matching session, newest first'),
      ...errorResponses(400, 401, 403, 404, 429, 503),
    },
  },
};

export const sessionBrowserRoutes: RouteDef[] = [listSessions, sessionsCsv, getSessionDetail];
