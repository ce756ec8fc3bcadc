// Sign-in and the caller's own account: first-run setup, login, refresh (rotating), logout, /me,
// password change and WebSocket tickets.
import { getCookie, type H3Event } from 'h3';
import type { LoginResult } from '../../auth/index.ts';
import { clientAddress } from '../client-address.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import {
  actorOf,
  authenticateUser,
  checkCsrf,
  clearSessionCookies,
  REFRESH_COOKIE,
  requireUser,
  setSessionCookies,
} from '../require-user.ts';
import {
  AuthStatus,
  LoginAnswer,
  LoginBody,
  Me,
  PasswordChangeBody,
  RefreshBody,
  SetupBody,
  WsTicket,
} from '../../wire/accounts.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';

const readSetup = bodyReader(SetupBody);
const readLogin = bodyReader(LoginBody);
const readRefresh = bodyReader(RefreshBody);
const readPasswordChange = bodyReader(PasswordChangeBody);
const LoginResponse = {
  description: 'Signed in. With session "cookie" the tokens are set as HttpOnly cookies and left out of the body.',
  content: json(LoginAnswer),
};

const meta = (event: H3Event, ctx: HttpContext) => ({
  address: clientAddress(event, ctx.config.trustProxy),
  userAgent: event.req.headers.get('user-agent'),
});

function answer(event: H3Event, ctx: HttpContext, login: LoginResult, cookies: boolean): LoginAnswer {
  const user = login.user;
  if (!cookies)
    return { accessToken: login.accessToken, refreshToken: login.refreshToken, expiresIn: login.expiresIn, user };
  setSessionCookies(event, ctx, login);
  return { expiresIn: login.expiresIn, user };
}

const status: RouteDef = {
  method: 'GET',
  path: '/api/v1/auth/status',
  async handler(event, ctx) {
    const caller = await authenticateUser(event, ctx).catch(() => null);
    return {
      setupRequired: await ctx.accounts.setupRequired(),
      user: caller ? { id: caller.user.id, email: caller.user.email, role: caller.user.role } : null,
    } satisfies AuthStatus;
  },
  openapi: {
    summary: 'Whether first-run setup is needed, and who is signed in (no authentication needed)',
    responses: { '200': { description: 'Status', content: json(AuthStatus) } },
  },
};

const setup: RouteDef = {
  method: 'POST',
  path: '/api/v1/auth/setup',
  async handler(event, ctx) {
    const body = await readSetup(event);
    const login = await ctx.accounts.setup(body.token, body.email, body.password, meta(event, ctx));
    event.res.status = 201;
    return answer(event, ctx, login, body.session === 'cookie');
  },
  openapi: {
    summary: 'Create the first admin with the one-time token from the setup link (then never again)',
    requestBody: { required: true, content: json(SetupBody) },
    responses: { '201': LoginResponse, ...errorResponses(400, 403, 415) },
  },
};

const login: RouteDef = {
  method: 'POST',
  path: '/api/v1/auth/login',
  async handler(event, ctx) {
    const body = await readLogin(event);
    const login = await ctx.accounts.login(body.email, body.password, meta(event, ctx));
    return answer(event, ctx, login, body.session === 'cookie');
  },
  openapi: {
    summary: 'Sign in with email and password',
    description:
      'Unknown email, wrong password and disabled user give the same answer in the same time. Failed attempts are delayed per email and address (growing delays) and capped per address (429 with Retry-After).',
    requestBody: { required: true, content: json(LoginBody) },
    responses: { '200': LoginResponse, ...errorResponses(400, 401, 415, 429) },
  },
};

/** The refresh token from the body, or from the cookie (then the CSRF header is required too). */
function presentedRefreshToken(event: H3Event, body: RefreshBody): { token: string | undefined; cookie: boolean } {
  if (body.refreshToken !== undefined) return { token: body.refreshToken, cookie: false };
  const cookie = getCookie(event, REFRESH_COOKIE);
  if (cookie === undefined) return { token: undefined, cookie: false };
  checkCsrf(event);
  return { token: cookie, cookie: true };
}

const refresh: RouteDef = {
  method: 'POST',
  path: '/api/v1/auth/refresh',
  async handler(event, ctx) {
    const body = await readRefresh(event, { optional: true });
    const { token, cookie } = presentedRefreshToken(event, body);
    try {
      return answer(event, ctx, await ctx.accounts.refresh(token, meta(event, ctx)), cookie);
    } catch (err) {
      if (cookie) clearSessionCookies(event, ctx);
      throw err;
    }
  },
  openapi: {
    summary: 'Exchange a refresh token for new tokens (the old one stops working; replaying it ends the login)',
    requestBody: { content: json(RefreshBody) },
    responses: { '200': LoginResponse, ...errorResponses(400, 401, 403, 415) },
  },
};

const logout: RouteDef = {
  method: 'POST',
  path: '/api/v1/auth/logout',
  async handler(event, ctx) {
    const body = await readRefresh(event, { optional: true });
    const { token } = presentedRefreshToken(event, body);
    if (token !== undefined) await ctx.accounts.logout({ refreshToken: token });
    else {
      const caller = await authenticateUser(event, ctx);
      if (!caller)
        throw new ApiError('UNAUTHORIZED', 'send the refreshToken, the session cookie, or a bearer token to sign out');
      await ctx.accounts.logout({ sessionId: caller.sessionId });
    }
    clearSessionCookies(event, ctx);
    event.res.status = 204;
    return '';
  },
  openapi: {
    summary: 'Sign out: ends the login (refresh token family) at once, access token included',
    requestBody: { content: json(RefreshBody) },
    responses: { '204': { description: 'Signed out' }, ...errorResponses(400, 401, 403, 415) },
  },
};

const me: RouteDef = {
  method: 'GET',
  path: '/api/v1/me',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const apps = caller.apps === 'all' ? (await ctx.store.listApps()).map((a) => a.id) : caller.apps;
    return { id: caller.user.id, email: caller.user.email, role: caller.user.role, apps } satisfies Me;
  },
  openapi: {
    summary: 'The signed-in user and the apps they can see',
    security: userBearer,
    responses: { '200': { description: 'The user', content: json(Me) }, ...errorResponses(401) },
  },
};

const changePassword: RouteDef = {
  method: 'POST',
  path: '/api/v1/me/password',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const body = await readPasswordChange(event);
    await ctx.accounts.changeOwnPassword(caller, actorOf(event, ctx, caller), body.currentPassword, body.newPassword);
    event.res.status = 204;
    return '';
  },
  openapi: {
    summary: 'Change your password; every other login of yours ends',
    security: userBearer,
    requestBody: { required: true, content: json(PasswordChangeBody) },
    responses: { '204': { description: 'Changed' }, ...errorResponses(400, 401, 403, 415, 429) },
  },
};

const wsTicket: RouteDef = {
  method: 'POST',
  path: '/api/v1/ws-ticket',
  async handler(event, ctx) {
    const caller = await requireUser(event, ctx);
    const ticket = await ctx.accounts.signer.signWsTicket({
      userId: caller.user.id,
      role: caller.user.role,
      sessionId: caller.sessionId,
    });
    return { ticket, expiresAt: Date.now() + 60_000 } satisfies WsTicket;
  },
  openapi: {
    summary: 'A one-minute ticket to open /ws/live?ticket=… from a client that cannot send cookies',
    security: userBearer,
    responses: { '200': { description: 'Ticket', content: json(WsTicket) }, ...errorResponses(401, 403) },
  },
};

export const authRoutes: RouteDef[] = [status, setup, login, refresh, logout, me, changePassword, wsTicket];
