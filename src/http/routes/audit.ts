// The audit log (admins) and guest tokens (admins and members).
import { issueGuestToken, GUEST_MAX_TTL_SEC } from '../../auth/index.ts';
import type { RouteDef } from '../context.ts';
import { readJsonObject } from '../read-json-body.ts';
import { actorOf, requireUser } from '../require-user.ts';
import { errorResponses, userBearer } from './openapi-shared.ts';
import { intQuery } from './route-params.ts';

const EntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'integer' },
    action: { type: 'string' },
    actorId: { type: ['integer', 'null'] },
    actorEmail: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    target: { type: ['string', 'null'] },
    detail: { type: ['object', 'null'] },
  },
};

export const auditRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/v1/audit',
    async handler(event, ctx) {
      await requireUser(event, ctx, ['admin']);
      const limit = intQuery(event, 'limit', 1, 200) ?? 50;
      const before = intQuery(event, 'before', 1, Number.MAX_SAFE_INTEGER);
      const entries = await ctx.store.accounts.listAudit(limit, before);
      return { entries, nextBefore: entries.length === limit ? entries[entries.length - 1]!.id : null };
    },
    openapi: {
      summary: 'The audit log, newest first (admin); page with before=<nextBefore>',
      security: userBearer,
      parameters: [
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
        { name: 'before', in: 'query', schema: { type: 'integer' } },
      ],
      responses: {
        '200': {
          description: 'Entries',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  entries: { type: 'array', items: EntrySchema },
                  nextBefore: { type: ['integer', 'null'] },
                },
              },
            },
          },
        },
        ...errorResponses(400, 401, 403),
      },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx);
      const body = await readJsonObject(event);
      const issued = await issueGuestToken(ctx.accounts.signer, {
        resource: body.resource,
        ttlSeconds: body.ttlSeconds,
        displayName: body.displayName,
      });
      await ctx.accounts.audit('guest_token_issued', actorOf(event, ctx, caller), issued.resource, {
        displayName: issued.displayName,
        expiresAt: issued.expiresAt,
      });
      event.res.status = 201;
      return { token: issued.token, expiresAt: issued.expiresAt };
    },
    openapi: {
      summary: 'A signed guest token for one room or video (admin or member)',
      security: userBearer,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['resource'],
              properties: {
                resource: { type: 'string', pattern: '^(room|video):[A-Za-z0-9_-]{1,64}$' },
                ttlSeconds: { type: 'integer', minimum: 60, maximum: GUEST_MAX_TTL_SEC, default: 43200 },
                displayName: { type: 'string', maxLength: 64, default: 'Guest' },
              },
            },
          },
        },
      },
      responses: {
        '201': {
          description: 'Token',
          content: {
            'application/json': {
              schema: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'integer' } } },
            },
          },
        },
        ...errorResponses(400, 401, 403, 415),
      },
    },
  },
];
