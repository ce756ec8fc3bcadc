// Notification channels: GET/POST /api/v1/notification-channels, DELETE /api/v1/notification-channels/{id},
// POST /api/v1/notification-channels/{id}/test. Settings are checked per type, sealed before they are stored
// and shown back with every secret hidden. Admins and members of the app manage them; read keys may list them.
import type { H3Event } from 'h3';
import {
  assertPublicHost,
  parseSettings,
  PrivateTargetError,
  targetHost,
  redactSettings,
  SettingsError,
  type ChannelSettings,
  type OutboxPayload,
} from '../../alerts/index.ts';
import type { ChannelRecord, OutboxRecord } from '../../store/index.ts';
import { queryParametersOf } from '../read-validated-query.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { callerPrincipal, canSeeApp, requireReader, resolveApp, type Principal } from '../require-access.ts';
import { requireUser } from '../require-user.ts';
import { Channel, ChannelList, ChannelTestAnswer, NewChannelBody } from '../../wire/alerts.ts';
import { notificationView } from './alert-views.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { appQuery, numericId, pathParameters, PathParams } from './route-params.ts';
import { READ_SECURITY } from './analytics-openapi.ts';

const readNewChannel = bodyReader(NewChannelBody);
/** Channels an app may have. */
export const MAX_CHANNELS_PER_APP = 50;
const [idParam] = pathParameters({ id: PathParams.recordId });
/**
 * Apps with a test message being sent: one at a time per app, so a member repeating "Send test" against a slow
 * receiver cannot fill the outbox's few delivery slots and hold up real alerts.
 */
const testingByServer = new WeakMap<HttpContext, Set<string>>();

// Each route is built by a function (hoisted), after the constants they use.
export const channelRoutes: RouteDef[] = [list(), create(), remove(), sendTest()];

/** Where links in messages point: publicUrl or where the server listens, as for real alerts (not the Host header). */
export function dashboardBase(ctx: HttpContext): string {
  return ctx.alerts.evaluator.dashboardLink();
}

/** The channel of the path when the caller sees its app; 404 otherwise. */
async function visibleChannel(event: H3Event, ctx: HttpContext, principal: Principal): Promise<ChannelRecord> {
  const id = numericId(event, 'notification channel');
  const c = await ctx.store.alerts.getChannel(id);
  if (!c || !canSeeApp(principal, c.appId)) throw new ApiError('NOT_FOUND', `no notification channel ${id}`);
  return c;
}

export function channelView(ctx: HttpContext, c: ChannelRecord) {
  let config: Record<string, unknown>;
  try {
    config = redactSettings(c.type, ctx.alerts.box.open<ChannelSettings>(c.sealed));
  } catch {
    config = { error: 'the settings cannot be opened with this data directory’s alerts.key' };
  }
  return { id: c.id, appId: c.appId, name: c.name, type: c.type, config, createdAt: c.createdAt };
}

function list(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/notification-channels',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const app = await resolveApp(ctx, principal, event.url.searchParams.get('app') ?? undefined);
      return {
        channels: (await ctx.store.alerts.listChannels(app)).map((c) => channelView(ctx, c)),
      } satisfies ChannelList;
    },
    openapi: {
      summary: "An app's notification channels (secrets hidden)",
      security: READ_SECURITY,
      parameters: queryParametersOf(appQuery()),
      responses: {
        '200': {
          description: 'Channels',
          content: json(ChannelList),
        },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    },
  };
}

function create(): RouteDef {
  return {
    method: 'POST',
    path: '/api/v1/notification-channels',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const body = await readNewChannel(event);
      const appId = await resolveApp(ctx, principal, body.appId);
      let settings: ChannelSettings;
      try {
        settings = parseSettings(body.type, body.config);
      } catch (err) {
        if (err instanceof SettingsError) throw new ApiError('INVALID_SCHEMA', err.message);
        throw err;
      }
      // Only admins may point a channel inside the server's network (see src/alerts/private-targets.ts).
      const admin = principal.kind === 'user' && principal.role === 'admin';
      if (admin) settings.internal = true;
      else
        try {
          await assertPublicHost(targetHost(settings));
        } catch (err) {
          if (err instanceof PrivateTargetError) throw new ApiError('FORBIDDEN', `config: ${err.message}`);
          throw err;
        }
      if ((await ctx.store.alerts.listChannels(appId)).length >= MAX_CHANNELS_PER_APP)
        throw new ApiError(
          'FORBIDDEN',
          `app ${appId} has ${MAX_CHANNELS_PER_APP} notification channels, the most an app may have: delete one`,
        );
      const channel = await ctx.store.alerts.createChannel({
        appId,
        name: body.name,
        type: body.type,
        sealed: ctx.alerts.box.seal(settings),
        createdAt: Date.now(),
      });
      event.res.status = 201;
      return channelView(ctx, channel);
    },
    openapi: {
      summary: 'Add a notification channel: webhook, Slack, Discord, ntfy or email (settings stored encrypted)',
      security: userBearer,
      requestBody: { required: true, content: json(NewChannelBody) },
      responses: {
        '201': { description: 'Created (secrets hidden)', content: json(Channel) },
        ...errorResponses(400, 401, 403, 404, 415, 503),
      },
    },
  };
}

function remove(): RouteDef {
  return {
    method: 'DELETE',
    path: '/api/v1/notification-channels/:id',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const channel = await visibleChannel(event, ctx, principal);
      await ctx.store.alerts.deleteChannel(channel.id);
      event.res.status = 204;
      return null;
    },
    openapi: {
      summary: 'Delete a notification channel (rules stop sending to it)',
      security: userBearer,
      parameters: [idParam],
      responses: { '204': { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
    },
  };
}

function sendTest(): RouteDef {
  return {
    method: 'POST',
    path: '/api/v1/notification-channels/:id/test',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const channel = await visibleChannel(event, ctx, principal);
      let testing = testingByServer.get(ctx);
      if (!testing) testingByServer.set(ctx, (testing = new Set()));
      if (testing.has(channel.appId))
        throw new ApiError(
          'NOT_READY',
          `a test message of app ${channel.appId} is still being sent: try again shortly`,
        );
      testing.add(channel.appId);
      try {
        return { notification: notificationView(await sendTestMessage(ctx, channel)) } satisfies ChannelTestAnswer;
      } finally {
        testing.delete(channel.appId);
      }
    },
    openapi: {
      summary: 'Send a test message to a channel and answer with how the receiver took it (not retried)',
      security: userBearer,
      parameters: [idParam],
      responses: {
        '200': {
          description: 'The attempt',
          content: json(ChannelTestAnswer),
        },
        ...errorResponses(401, 403, 404, 409, 503),
      },
    },
  };
}

/** Queues a test message to `channel` and waits for its one attempt (bounded by the delivery timeout). */
async function sendTestMessage(ctx: HttpContext, channel: ChannelRecord): Promise<OutboxRecord> {
  const at = Date.now();
  const payload: OutboxPayload = {
    test: true,
    alert: {
      ruleId: 0,
      name: 'Test notification',
      appId: channel.appId,
      state: 'firing',
      metric: 'playback_failure_pct',
      value: 0,
      threshold: 0,
      windowMinutes: 5,
      at,
      url: `${dashboardBase(ctx)}/alerts?app=${encodeURIComponent(channel.appId)}`,
      op: 'above',
      filter: null,
    },
  };
  const queued = await ctx.store.alerts.enqueueNotification({
    appId: channel.appId,
    channelId: channel.id,
    payload: JSON.stringify(payload),
    at,
  });
  ctx.alerts.outbox.wake();
  // Answer with the outcome of the one attempt (bounded by the delivery timeout).
  const deadline = Date.now() + ctx.config.notifications.timeoutSeconds * 1000 + 5_000;
  let n: OutboxRecord | null = queued;
  while (Date.now() < deadline) {
    n = await ctx.store.alerts.getNotification(queued.id);
    if (!n || n.attempts > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return n ?? queued;
}
