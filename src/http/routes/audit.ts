// The audit log (admins) and guest tokens (admins and members).
import { guestTokenId, issueGuestToken } from '../../auth/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { queryParametersOf, queryReader } from '../read-validated-query.ts';
import { actorOf, requireUser } from '../require-user.ts';
import { AuditPage, AuditQuery, GuestToken, GuestTokenBody, GuestTokenRevokeBody } from '../../wire/audit.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { forgetViewer } from '../viewer-active.ts';
import { callerPrincipal, canSeeApp } from '../require-access.ts';
import type { Caller } from '../require-user.ts';

const readGuestTokenBody = bodyReader(GuestTokenBody);
const readGuestTokenRevokeBody = bodyReader(GuestTokenRevokeBody);
const readAuditQuery = queryReader(AuditQuery);

export const auditRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/v1/audit',
    async handler(event, ctx) {
      await requireUser(event, ctx, ['admin']);
      const { limit = 50, before } = readAuditQuery(event);
      const entries = await ctx.store.accounts.listAudit(limit, before);
      return {
        entries,
        nextBefore: entries.length === limit ? entries[entries.length - 1]!.id : null,
      } satisfies AuditPage;
    },
    openapi: {
      summary: 'The audit log, newest first (admin); page with before=<nextBefore>',
      security: userBearer,
      parameters: queryParametersOf(AuditQuery),
      responses: { '200': { description: 'Entries', content: json(AuditPage) }, ...errorResponses(400, 401, 403) },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx);
      const body = await readGuestTokenBody(event);
      const issued = await issueGuestToken(ctx.accounts.signer, {
        resource: body.resource,
        ttlSeconds: body.ttlSeconds,
        displayName: body.displayName,
      });
      // Checked after the fields (a bad field is a 400 either way); the token is dropped unless this passes.
      await requireVisibleResource(ctx, caller, issued.resource);
      await ctx.accounts.audit('guest_token_issued', actorOf(event, ctx, caller), issued.resource, {
        displayName: issued.displayName,
        expiresAt: issued.expiresAt,
      });
      event.res.status = 201;
      return { token: issued.token, expiresAt: issued.expiresAt } satisfies GuestToken;
    },
    openapi: {
      summary: 'A signed guest token for one room or video (admin or member)',
      security: userBearer,
      requestBody: { required: true, content: json(GuestTokenBody) },
      description:
        "The room or video must exist and belong to an app the caller sees; another app's answers 404 (like its other routes).",
      responses: {
        '201': { description: 'Token', content: json(GuestToken) },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/guest-tokens/revoke',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx);
      const { token } = await readGuestTokenRevokeBody(event);
      const claims = await ctx.accounts.guestTokenClaims(token);
      if (!claims) throw new ApiError('INVALID_SCHEMA', 'token: not a valid, unexpired guest token of this server');
      await requireVisibleResource(ctx, caller, claims.resource);
      await ctx.accounts.revokeGuestToken(token, claims);
      forgetViewer(ctx, `g.${guestTokenId(token)}`); // its playback URLs answer 403 from the next request
      // A guest in a room with it is closed now, on every instance, not at the next heartbeat.
      ctx.access.changed();
      await ctx.accounts.audit('guest_token_revoked', actorOf(event, ctx, caller), claims.resource, {
        displayName: claims.name,
        expiresAt: claims.expiresAt,
      });
      event.res.status = 204;
      return null;
    },
    openapi: {
      summary: 'Revoke a guest token at once (admin or member who sees its room or video)',
      security: userBearer,
      requestBody: { required: true, content: json(GuestTokenRevokeBody) },
      description:
        'The token stops working everywhere within a second: new playback grants and invites are refused, and the signed playback URLs it was given answer 403. Revoking twice is harmless; a token for another app’s room or video answers 404.',
      responses: { '204': { description: 'Revoked' }, ...errorResponses(400, 401, 403, 404, 415) },
    },
  },
];

/**
 * A guest token lets its holder into one room or video, so only someone who may use that resource can mint one:
 * it must exist and belong to one of the caller's apps (404 otherwise, the same answer as its own routes give).
 */
async function requireVisibleResource(ctx: HttpContext, caller: Caller, resource: string): Promise<void> {
  const [kind, id = ''] = resource.split(':');
  const appId =
    kind === 'room'
      ? (await ctx.store.rooms.getRoom(id))?.appId
      : kind === 'video'
        ? (await ctx.media.get(id))?.appId
        : undefined;
  if (appId === undefined || !canSeeApp(callerPrincipal(caller), appId))
    throw new ApiError('NOT_FOUND', `resource: no ${kind === 'video' ? 'video' : 'room'} ${JSON.stringify(id)}`);
}
