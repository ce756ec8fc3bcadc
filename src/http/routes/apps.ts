// Apps and their API keys, for people: members list the apps granted to them; admins create, rename and
// delete apps and manage keys (a new or rotated key is shown once; a rotated key keeps working for
// keyRotationGraceHours). Another app's resources answer 404, so their existence does not leak.
import { getRouterParam, type H3Event } from 'h3';
import { createApiKey, DEFAULT_APP_ID, publicPrefix, rotateApiKey } from '../../auth/index.ts';
import { SCOPES, type ApiKeyRecord, type App, type Scope } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { readJsonObject } from '../read-json-body.ts';
import { canSeeApp } from '../require-access.ts';
import { actorOf, requireUser, type Caller } from '../require-user.ts';
import { userBearer } from './auth.ts';
import { errorResponses, jsonContent as json } from './openapi-shared.ts';
import { APP_ID, appIdParam } from './route-params.ts';

const AppSchema = {
  type: 'object',
  required: ['id', 'name', 'createdAt'],
  properties: {
    id: { type: 'string', pattern: APP_ID.source },
    name: { type: 'string' },
    createdAt: { type: 'integer' },
  },
};
const KeySchema = {
  type: 'object',
  required: ['prefix', 'appId', 'name', 'scopes', 'createdAt', 'lastUsedAt', 'revokedAt', 'expiresAt', 'rateLimit'],
  properties: {
    prefix: { type: 'string' },
    appId: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { enum: [...SCOPES] } },
    createdAt: { type: 'integer' },
    lastUsedAt: { type: ['integer', 'null'] },
    revokedAt: { type: ['integer', 'null'] },
    expiresAt: { type: ['integer', 'null'], description: 'set by rotation: the key works until then' },
    rateLimit: { type: ['integer', 'null'], description: 'requests per window; null = the server default' },
  },
};
const NewKeySchema = {
  allOf: [
    KeySchema,
    { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'shown only this once' } } },
  ],
};
const appParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const prefixParam = {
  name: 'prefix',
  in: 'path',
  required: true,
  description: 'the public prefix only (a whole key is refused)',
  schema: { type: 'string', pattern: '^(m3w_|env_)?[0-9a-f]{8}$' },
};
const admin = ['admin'] as const;

const keyJson = (k: ApiKeyRecord) => ({
  prefix: k.prefix,
  appId: k.appId,
  name: k.name,
  scopes: k.scopes,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
  expiresAt: k.expiresAt,
  rateLimit: k.rateLimit,
});

function appName(input: unknown, fallback?: string): string {
  const name = input ?? fallback;
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name))
    throw new ApiError('INVALID_SCHEMA', 'name must be 1 to 100 characters without control characters');
  return name.trim();
}

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

function keyFields(body: Record<string, unknown>): { name: string; scopes: Scope[]; rateLimit: number | null } {
  const name = appName(body.name);
  const scopes = body.scopes ?? ['ingest'];
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s as Scope)))
    throw new ApiError(
      'INVALID_SCHEMA',
      `scopes must be a non-empty array of ${SCOPES.map((s) => `"${s}"`).join(', ')}`,
    );
  const rateLimit = body.rateLimit ?? null;
  if (
    rateLimit !== null &&
    (typeof rateLimit !== 'number' || !Number.isInteger(rateLimit) || rateLimit < 1 || rateLimit > 1_000_000_000)
  )
    throw new ApiError(
      'INVALID_SCHEMA',
      'rateLimit must be an integer from 1 to 1000000000 requests per window, or null for the default',
    );
  return { name, scopes: [...new Set(scopes as Scope[])], rateLimit };
}

export const appRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/v1/apps',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx);
      const apps = await ctx.store.listApps();
      return { apps: caller.apps === 'all' ? apps : apps.filter((a) => caller.apps.includes(a.id)) };
    },
    openapi: {
      summary: 'Apps you can see (all for admins, granted ones for members)',
      security: userBearer,
      responses: {
        '200': {
          description: 'Apps',
          content: json({ type: 'object', properties: { apps: { type: 'array', items: AppSchema } } }),
        },
        ...errorResponses(401),
      },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/apps',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const body = await readJsonObject(event);
      if (typeof body.id !== 'string' || !APP_ID.test(body.id))
        throw new ApiError(
          'INVALID_SCHEMA',
          'id must be 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit',
        );
      const app = await ctx.store.createApp(body.id, appName(body.name, body.id), Date.now());
      if (!app) throw new ApiError('INVALID_SCHEMA', `id ${JSON.stringify(body.id)} is already used by another app`);
      await ctx.accounts.audit('app_created', actorOf(event, ctx, caller), `app:${app.id}`);
      event.res.status = 201;
      return app;
    },
    openapi: {
      summary: 'Create an app (admin)',
      security: userBearer,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', pattern: APP_ID.source }, name: { type: 'string' } },
        }),
      },
      responses: { '201': { description: 'Created', content: json(AppSchema) }, ...errorResponses(400, 401, 403, 415) },
    },
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/:id',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      const body = await readJsonObject(event);
      const renamed = await ctx.store.renameApp(app.id, appName(body.name));
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
      requestBody: {
        required: true,
        content: json({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } }),
      },
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
      await ctx.store.deleteApp(app.id);
      ctx.keys.forget();
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
      return { keys: (await ctx.store.listApiKeys(app.id)).map(keyJson) };
    },
    openapi: {
      summary: "An app's API keys, without their secrets (admin)",
      security: userBearer,
      parameters: [appParam],
      responses: {
        '200': {
          description: 'Keys',
          content: json({ type: 'object', properties: { keys: { type: 'array', items: KeySchema } } }),
        },
        ...errorResponses(401, 403, 404),
      },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/apps/:id/keys',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const app = await visibleApp(event, ctx, caller);
      const fields = keyFields(await readJsonObject(event));
      const { key, record } = await createApiKey(ctx.store, { appId: app.id, ...fields });
      await ctx.accounts.auditKey('key_created', actorOf(event, ctx, caller), record, { scopes: record.scopes });
      event.res.status = 201;
      return { key, ...keyJson(record) };
    },
    openapi: {
      summary: 'Create an API key (admin); the key is in this answer only',
      security: userBearer,
      parameters: [appParam],
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            scopes: { type: 'array', items: { enum: [...SCOPES] }, default: ['ingest'] },
            rateLimit: { type: ['integer', 'null'] },
          },
        }),
      },
      responses: {
        '201': { description: 'Created', content: json(NewKeySchema) },
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
      ctx.keys.forget();
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
      ctx.keys.forget();
      await ctx.accounts.auditKey('key_rotated', actorOf(event, ctx, caller), old, {
        replacement: rotated.record.prefix,
        oldKeyExpiresAt: Date.now() + graceMs,
      });
      event.res.status = 201;
      return { key: rotated.key, ...keyJson(rotated.record) };
    },
    openapi: {
      summary:
        'Replace an API key (admin): the new key is shown once; the old one keeps working for keyRotationGraceHours (24 h)',
      security: userBearer,
      parameters: [appParam, prefixParam],
      responses: {
        '201': { description: 'The replacement key', content: json(NewKeySchema) },
        ...errorResponses(400, 401, 403, 404),
      },
    },
  },
];
