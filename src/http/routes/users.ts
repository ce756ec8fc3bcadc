// User administration (admins only): list, create, change role / disable / set password, delete, and
// grant or revoke a member's access to an app.
import type { User } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { bodyReader } from '../read-validated-body.ts';
import { actorOf, requireUser } from '../require-user.ts';
import { NewUserBody, UserList, UserPatchBody, UserRecord } from '../../wire/users.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { appIdParam, pathParameters, PathParams, userIdParam } from './route-params.ts';

const readNewUser = bodyReader(NewUserBody);
const readUserPatch = bodyReader(UserPatchBody);
const [userParam] = pathParameters({ id: PathParams.userId });

async function describe(ctx: HttpContext, u: User): Promise<UserRecord> {
  return {
    id: u.id,
    email: u.email,
    role: u.role,
    disabled: u.disabledAt !== null,
    createdAt: u.createdAt,
    apps: await ctx.store.accounts.userApps(u.id),
  };
}

const admin = ['admin'] as const;

export const userRoutes: RouteDef[] = [
  {
    method: 'GET',
    path: '/api/v1/users',
    async handler(event, ctx) {
      await requireUser(event, ctx, admin);
      const users = await ctx.store.accounts.listUsers();
      return { users: await Promise.all(users.map((u) => describe(ctx, u))) } satisfies UserList;
    },
    openapi: {
      summary: 'List users (admin)',
      security: userBearer,
      responses: { '200': { description: 'Users', content: json(UserList) }, ...errorResponses(401, 403) },
    },
  },
  {
    method: 'POST',
    path: '/api/v1/users',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const body = await readNewUser(event);
      const user = await ctx.accounts.createUser(actorOf(event, ctx, caller), {
        email: body.email,
        password: body.password,
        role: body.role ?? 'member',
      });
      event.res.status = 201;
      return describe(ctx, user);
    },
    openapi: {
      summary: 'Create a user (admin); the password is never returned',
      security: userBearer,
      requestBody: { required: true, content: json(NewUserBody) },
      responses: {
        '201': { description: 'Created', content: json(UserRecord) },
        ...errorResponses(400, 401, 403, 415),
      },
    },
  },
  {
    method: 'PATCH',
    path: '/api/v1/users/:id',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      const id = userIdParam(event);
      const body = await readUserPatch(event);
      const user = await ctx.accounts.updateUser(actorOf(event, ctx, caller), id, {
        role: body.role,
        disabled: body.disabled,
        password: body.password,
      });
      return describe(ctx, user);
    },
    openapi: {
      summary:
        "Change a user's role, disable or enable them, or set their password (admin); disabling or a new password ends their logins",
      security: userBearer,
      parameters: [userParam],
      requestBody: { required: true, content: json(UserPatchBody) },
      responses: {
        '200': { description: 'Updated', content: json(UserRecord) },
        ...errorResponses(400, 401, 403, 404, 415),
      },
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/users/:id',
    async handler(event, ctx) {
      const caller = await requireUser(event, ctx, admin);
      await ctx.accounts.deleteUser(actorOf(event, ctx, caller), userIdParam(event));
      event.res.status = 204;
      return '';
    },
    openapi: {
      summary: 'Delete a user (admin); the last active admin cannot be deleted',
      security: userBearer,
      parameters: [userParam],
      responses: { '204': { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
    },
  },
  ...(['PUT', 'DELETE'] as const).map(
    (method): RouteDef => ({
      method,
      path: '/api/v1/users/:id/apps/:appId',
      async handler(event, ctx) {
        const caller = await requireUser(event, ctx, admin);
        await ctx.accounts.setGrant(
          actorOf(event, ctx, caller),
          userIdParam(event),
          appIdParam(event, 'appId'),
          method === 'PUT',
        );
        event.res.status = 204;
        return '';
      },
      openapi: {
        summary:
          method === 'PUT'
            ? 'Grant a member read access to an app (admin)'
            : "Revoke a member's access to an app (admin)",
        security: userBearer,
        parameters: pathParameters({ id: PathParams.userId, appId: PathParams.appId }),
        responses: { '204': { description: 'Done' }, ...errorResponses(400, 401, 403, 404) },
      },
    }),
  ),
];
