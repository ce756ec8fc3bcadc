// Apps and their API keys, for people: members list the apps granted to them; admins create, rename and
// delete apps and manage keys (a new or rotated key is shown once; a rotated key keeps working for
// keyRotationGraceHours). Another app's resources answer 404, so their existence does not leak.
import { getRouterParam, type H3Event } from 'h3';
import { createApiKey, DEFAULT_APP_ID, normalizeOrigins, publicPrefix, rotateApiKey } from '../../auth/index.ts';
import type { ApiKeyRecord, App, Scope } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { canSeeApp } from '../require-access.ts';
import { actorOf, requireUser, type Caller } from '../require-user.ts';
import {
  type ApiKey,
  ApiKey as ApiKeySchema,
  ApiKeyList,
  ApiKeyUpdateBody,
  AppList,
  AppRenameBody,
  App as AppSchema,
  NewApiKey,
  NewApiKeyBody,
  NewAppBody,
} from '../../wire/apps.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { appIdParam, pathParameters, PathParams } from './route-params.ts';

const readNewApp = bodyReader(NewAppBody);
const readAppRename = bodyReader(AppRenameBody);
const readNewKey = bodyReader(NewApiKeyBody);
const readKeyUpdate = bodyReader(ApiKeyUpdateBody);
const [appParam] = pathParameters({ id: PathParams.appId });
const [prefixParam] = pathParameters({ prefix: PathParams.keyPrefix });
const admin = ['admin'] as const;

const keyJson = (k: ApiKeyRecord): ApiKey => ({
  prefix: k.prefix,
  appId: k.appId,
  name: k.name,
  scopes: k.scopes,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
  expiresAt: k.expiresAt,
  rateLimit: k.rateLimit,
  allowedOrigins: k.allowedOrigins,
});

/** The app named in the path, if this caller may see it; 404 otherwise. */
async function visibleApp(event: H3Event, ctx: HttpContext, caller: Caller): Promise<App> {
  const id = appIdParam(event);
  const app = await ctx.store.getApp(id);
  if (
    !app ||
    !canSeeApp(
      { kind: 'user', userId: caller.user.id, email: caller.user.email, role: caller.user.role, apps: caller.apps },
      id,
    )
  )
    throw new ApiError('NOT_FOUND', `no app ${JSON.stringify(id)}`);
  return app;
}

async function appKey(event: H3Event, ctx: HttpContext, app: App): Promise<ApiKeyRecord> {
  // Never echoed: it may be a whole key pasted by mistake.
  const prefix = publicPrefix(getRouterParam(event, 'prefix', { decode: true }) ?? '');
  if (!prefix)
    throw new ApiError(
      'INVALID_SCHEMA',
      'prefix: name the key by its public prefix (m3w_ and 8 hex digits), never by the whole key',
    );
  const key = await ctx.store.getApiKey(prefix);
  if (!key || key.appId !== app.id) throw new ApiError('NOT_FOUND', `no API key ${prefix} in app ${app.id}`);
  return key;
}

/** The origins of a body, normalised; a 400 naming the first that is not an origin. */
function originsOf(list: readonly string[] | undefined): string[] {
  try {
    return normalizeOrigins(list ?? []);
  } catch (err) {
    throw new ApiError('INVALID_SCHEMA', `allowedOrigins: ${(err as Error).message}`, [
      { field: 'allowedOrigins', message: (err as Error).message },
    ]);
  }
}

/** What a new key gets: defaults filled in, scopes and origins without repeats. */
function keyFields(body: NewApiKeyBody) {
  const scopes: Scope[] = body.scopes ?? ['ingest'];
  return {
    name: body.name.trim(),
    scopes: [...new Set(scopes)],
    rateLimit: body.rateLimit ?? null,
    allowedOrigins: originsOf(body.allowedOrigins),
  };
}

export const appRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/v1/apps',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx);
      const apps = await ctx.store.listApps();
      return { apps: caller.apps === 'all' ? apps : apps.filter((a) => caller.apps.includes(a.id)) } satisfies AppList;
    },
    openapi: {
      summary: 'Apps you can see (all for admins, granted ones for members)',
      security: userBearer,
      responses: { '200': { description: 'Apps', content: json(AppList) }, ...errorResponses(401) },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/apps',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const body = await readNewApp(event);
      const app = await ctx.store.createApp(body.id, (body.name ?? body.id).trim(), Date.now());
      if (!app) throw new ApiError('INVALID_SCHEMA', `id ${JSON.stringify(body.id)} is already used by another app`);
      await ctx.accounts.audit('app_created', actorOf(event, ctx, caller), `app:${app.id}`);
      event.res.status = 201;
      return app;
    },
    openapi: {
      summary: 'Create an app (admin)',
      security: userBearer,
      requestBody: { required: true, content: json(NewAppBody) },
      responses: { '201': { description: 'Created', content: json(AppSchema) }, ...errorResponses(400, 401, 403, 415) },
    },
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/:id',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      const body = await readAppRename(event);
      const renamed = await ctx.store.renameApp(app.id, body.name.trim());
      await ctx.accounts.audit('app_renamed', actorOf(event, ctx, caller), `app:${app.id}`, {
        from: app.name,
        to: renamed!.name,
      });
      return renamed;
    },
    openapi: {
      summary: 'Rename an app (admin)',
      security: userBearer,
      parameters: [appParam],
      requestBody: { required: true, content: json(AppRenameBody) },
      responses: {
        '200': { description: 'Renamed', content: json(AppSchema) },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/:id',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      if (app.id === DEFAULT_APP_ID)
        throw new ApiError('INVALID_SCHEMA', 'the default app receives M3W_API_KEY and cannot be deleted');
      // Its videos' rows go with it; their files and running transcodes are stopped with them.
      await ctx.media.removeApp(app.id, async () => {
        await ctx.store.deleteApp(app.id);
      });
      // Its open plays leave the live tracker; its keys, live sockets following it and its rooms' members go,
      // on every instance.
      ctx.analytics.forgetApp(app.id);
      ctx.access.changed();
      await ctx.accounts.audit('app_deleted', actorOf(event, ctx, caller), `app:${app.id}`);
      event.res.status = 204;
      return '';
    },
    openapi: {
      summary: 'Delete an app with its keys and data (admin)',
      security: userBearer,
      parameters: [appParam],
      responses: { '204': { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
    },
  },
  {
    method: 'GET',
    path: '/api/v1/apps/:id/keys',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      return { keys: (await ctx.store.listApiKeys(app.id)).map(keyJson) } satisfies ApiKeyList;
    },
    openapi: {
      summary: "An app's API keys, without their secrets (admin)",
      security: userBearer,
      parameters: [appParam],
      responses: { '200': { description: 'Keys', content: json(ApiKeyList) }, ...errorResponses(401, 403, 404) },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/apps/:id/keys',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      const fields = keyFields(await readNewKey(event));
      const { key, record } = await createApiKey(ctx.store, { appId: app.id, ...fields });
      await ctx.accounts.auditKey('key_created', actorOf(event, ctx, caller), record, {
        scopes: record.scopes,
        allowedOrigins: record.allowedOrigins,
      });
      event.res.status = 201;
      return { key, ...keyJson(record) } satisfies NewApiKey;
    },
    openapi: {
      summary: 'Create an API key (admin); the key is in this answer only',
      security: userBearer,
      parameters: [appParam],
      requestBody: { required: true, content: json(NewApiKeyBody) },
      responses: {
        '201': { description: 'Created', content: json(NewApiKey) },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    },
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/:id/keys/:prefix',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const key = await appKey(event, ctx, await visibleApp(event, ctx, caller));
      const origins = originsOf((await readKeyUpdate(event)).allowedOrigins);
      const updated = await ctx.store.setApiKeyOrigins(key.prefix, origins);
      if (!updated) throw new ApiError('NOT_FOUND', `no API key ${key.prefix} in app ${key.appId}`);
      ctx.access.changed(); // the new list applies at once, not after the key cache's TTL
      await ctx.accounts.auditKey('key_updated', actorOf(event, ctx, caller), key, {
        allowedOrigins: { from: key.allowedOrigins, to: updated.allowedOrigins },
      });
      return keyJson(updated);
    },
    openapi: {
      summary: 'Change the browser origins an API key may be used from (admin); the list replaces the old one',
      security: userBearer,
      parameters: [appParam, prefixParam],
      requestBody: { required: true, content: json(ApiKeyUpdateBody) },
      responses: {
        '200': { description: 'The key as changed', content: json(ApiKeySchema) },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/:id/keys/:prefix',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const key = await appKey(event, ctx, await visibleApp(event, ctx, caller));
      if (!(await ctx.store.revokeApiKey(key.prefix, Date.now())))
        throw new ApiError('NOT_FOUND', `API key ${key.prefix} is already revoked`);
      ctx.access.changed();
      await ctx.accounts.auditKey('key_revoked', actorOf(event, ctx, caller), key);
      event.res.status = 204;
      return '';
    },
    openapi: {
      summary: 'Revoke an API key at once (admin)',
      security: userBearer,
      parameters: [appParam, prefixParam],
      responses: { '204': { description: 'Revoked' }, ...errorResponses(400, 401, 403, 404) },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/apps/:id/keys/:prefix/rotate',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const old = await appKey(event, ctx, await visibleApp(event, ctx, caller));
      const graceMs = ctx.config.keyRotationGraceHours * 3600_000;
      const rotated = await rotateApiKey(ctx.store, old, graceMs);
      if (!rotated) throw new ApiError('NOT_FOUND', `API key ${old.prefix} is revoked or already rotated`);
      ctx.access.changed();
      await ctx.accounts.auditKey('key_rotated', actorOf(event, ctx, caller), old, {
        replacement: rotated.record.prefix,
        oldKeyExpiresAt: Date.now() + graceMs,
      });
      event.res.status = 201;
      return { key: rotated.key, ...keyJson(rotated.record) } satisfies NewApiKey;
    },
    openapi: {
      summary:
        'Replace an API key (admin): the new key is shown once; the old one keeps working for keyRotationGraceHours (24 h)',
      security: userBearer,
      parameters: [appParam, prefixParam],
      responses: {
        '201': { description: 'The replacement key', content: json(NewApiKey) },
        ...errorResponses(400, 401, 403, 404),
      },
    },
  },
];
