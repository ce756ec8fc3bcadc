// Alert rules and their history: GET/POST /api/v1/alert-rules, PATCH/DELETE /api/v1/alert-rules/{id},
// GET /api/v1/alerts (when each rule fired and resolved, its value, and each notification's attempts). Admins
// and members of the app write; read keys may read. Another app's rule answers 404.
import type { H3Event } from 'h3';
import { ROLLUP_DIMENSIONS } from '../../engine/index.ts';
import { QOE_DIMENSIONS, type AlertRuleRecord, type AlertRuleSettings } from '../../store/index.ts';
import type { HttpContext, RouteDef } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bodyReader } from '../read-validated-body.ts';
import { queryParametersOf, queryReader } from '../read-validated-query.ts';
import { callerPrincipal, canSeeApp, requireReader, resolveApp, type Principal } from '../require-access.ts';
import { requireUser } from '../require-user.ts';
import {
  AlertEventList,
  AlertHistoryParams,
  AlertRule,
  AlertRuleList,
  AlertRulePatchBody,
  NewAlertRuleBody,
} from '../../wire/alerts.ts';
import { READ_SECURITY } from './analytics-openapi.ts';
import { errorResponses, jsonContent as json, userBearer } from './openapi-shared.ts';
import { notificationView } from './alert-views.ts';
import { appQuery, numericId, pathParameters, PathParams } from './route-params.ts';

const readNewRule = bodyReader(NewAlertRuleBody);
const readHistoryQuery = queryReader(AlertHistoryParams);
/** Rules an app may have: each is evaluated every minute over up to a day of sessions. */
export const MAX_RULES_PER_APP = 100;
const readPatch = bodyReader(AlertRulePatchBody);
const [idParam] = pathParameters({ id: PathParams.recordId });
const [appParam] = queryParametersOf(appQuery());

// Each route is built by a function (hoisted), after the constants they use.
export const alertRoutes: RouteDef[] = [listRules(), createRule(), patchRule(), deleteRule(), history()];

/** Dimensions a rule of `metric` may be narrowed to. */
function dimensionsFor(metric: string): readonly string[] {
  if (metric === 'viewers') return ROLLUP_DIMENSIONS.filter((d) => d !== 'global');
  if (metric === 'moment') return ['channel', 'contentId'];
  return Object.keys(QOE_DIMENSIONS);
}

function parseFilter(metric: string, filter: Record<string, string> | null | undefined): AlertRuleSettings['filter'] {
  if (filter === undefined || filter === null) return null;
  const entries = Object.entries(filter);
  if (entries.length !== 1)
    throw new ApiError('INVALID_SCHEMA', 'filter: one dimension and its value, e.g. {"country": "DE"}, or null');
  const [dimension, value] = entries[0]!;
  const allowed = dimensionsFor(metric);
  if (!allowed.includes(dimension))
    throw new ApiError('INVALID_SCHEMA', `filter: a ${metric} rule can watch one of ${allowed.join(', ')}`);
  if (value.length < 1 || value.length > 256)
    throw new ApiError('INVALID_SCHEMA', 'filter: the value must be 1 to 256 characters');
  return { dimension, value };
}

async function checkChannels(ctx: HttpContext, appId: string, ids: readonly number[]): Promise<void> {
  for (const id of ids) {
    const c = await ctx.store.alerts.getChannel(id);
    if (!c || c.appId !== appId)
      throw new ApiError('INVALID_SCHEMA', `channelIds: ${id} is not a notification channel of app ${appId}`);
  }
}

async function visibleRule(event: H3Event, ctx: HttpContext, principal: Principal): Promise<AlertRuleRecord> {
  const id = numericId(event, 'alert rule');
  const r = await ctx.store.alerts.getRule(id);
  if (!r || !canSeeApp(principal, r.appId)) throw new ApiError('NOT_FOUND', `no alert rule ${id}`);
  return r;
}

export function ruleView(r: AlertRuleRecord) {
  return {
    id: r.id,
    appId: r.appId,
    name: r.name,
    metric: r.metric,
    op: r.op,
    threshold: r.threshold,
    windowMinutes: r.windowMinutes,
    minSessions: r.minSessions,
    cooldownMinutes: r.cooldownMinutes,
    channelIds: r.channelIds,
    filter: r.filter ? { [r.filter.dimension]: r.filter.value } : null,
    enabled: r.enabled,
    state: r.state,
    stateSince: r.stateSince,
    lastValue: r.lastValue,
    lastEvaluatedAt: r.lastEvaluatedAt,
    lastFiredAt: r.lastFiredAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function listRules(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/alert-rules',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const app = await resolveApp(ctx, principal, event.url.searchParams.get('app') ?? undefined);
      return { rules: (await ctx.store.alerts.listRules(app)).map(ruleView) } satisfies AlertRuleList;
    },
    openapi: {
      summary: "An app's alert rules with their state",
      security: READ_SECURITY,
      parameters: [appParam],
      responses: {
        '200': {
          description: 'Rules',
          content: json(AlertRuleList),
        },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    },
  };
}

function createRule(): RouteDef {
  return {
    method: 'POST',
    path: '/api/v1/alert-rules',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const body = await readNewRule(event);
      const appId = await resolveApp(ctx, principal, body.appId);
      if (body.threshold === undefined && body.metric !== 'moment')
        throw new ApiError('INVALID_SCHEMA', 'threshold: required (a number) for a rule on a figure');
      const channelIds = [...new Set(body.channelIds ?? [])];
      await checkChannels(ctx, appId, channelIds);
      if ((await ctx.store.alerts.listRules(appId)).length >= MAX_RULES_PER_APP)
        throw new ApiError(
          'FORBIDDEN',
          `app ${appId} has ${MAX_RULES_PER_APP} alert rules, the most an app may have: delete or change one`,
        );
      const rule = await ctx.store.alerts.createRule({
        appId,
        name: body.name,
        metric: body.metric,
        op: body.op ?? 'above',
        threshold: body.threshold ?? 0,
        windowMinutes: body.windowMinutes ?? 5,
        minSessions: body.minSessions ?? 20,
        cooldownMinutes: body.cooldownMinutes ?? 30,
        channelIds,
        filter: parseFilter(body.metric, body.filter),
        enabled: body.enabled ?? true,
        createdAt: Date.now(),
      });
      event.res.status = 201;
      return ruleView(rule);
    },
    openapi: {
      summary: 'Make an alert rule (evaluated every minute; notifies its channels when it fires and resolves)',
      security: userBearer,
      requestBody: { required: true, content: json(NewAlertRuleBody) },
      responses: {
        '201': { description: 'Created, state ok', content: json(AlertRule) },
        ...errorResponses(400, 401, 403, 404, 415, 503),
      },
    },
  };
}

function patchRule(): RouteDef {
  return {
    method: 'PATCH',
    path: '/api/v1/alert-rules/:id',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const rule = await visibleRule(event, ctx, principal);
      const body = await readPatch(event);
      const metric = body.metric ?? rule.metric;
      const patch: Partial<AlertRuleSettings> = { ...body, filter: undefined, channelIds: undefined };
      if (body.filter !== undefined || body.metric !== undefined)
        patch.filter = parseFilter(
          metric,
          body.filter !== undefined ? body.filter : rule.filter ? { [rule.filter.dimension]: rule.filter.value } : null,
        );
      if (body.channelIds !== undefined) {
        patch.channelIds = [...new Set(body.channelIds)];
        await checkChannels(ctx, rule.appId, patch.channelIds);
      }
      const updated = await ctx.store.alerts.updateRule(rule.id, patch, Date.now());
      if (!updated) throw new ApiError('NOT_FOUND', `no alert rule ${rule.id}`);
      return ruleView(updated);
    },
    openapi: {
      summary: 'Change an alert rule (its state is kept; the next evaluation uses the new settings)',
      security: userBearer,
      parameters: [idParam],
      requestBody: { required: true, content: json(AlertRulePatchBody) },
      responses: {
        '200': { description: 'The rule', content: json(AlertRule) },
        ...errorResponses(400, 401, 403, 404, 415, 503),
      },
    },
  };
}

function deleteRule(): RouteDef {
  return {
    method: 'DELETE',
    path: '/api/v1/alert-rules/:id',
    async handler(event, ctx) {
      const principal = await callerPrincipal(await requireUser(event, ctx));
      const rule = await visibleRule(event, ctx, principal);
      await ctx.store.alerts.deleteRule(rule.id);
      event.res.status = 204;
      return null;
    },
    openapi: {
      summary: 'Delete an alert rule (its history stays)',
      security: userBearer,
      parameters: [idParam],
      responses: { '204': { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
    },
  };
}

function history(): RouteDef {
  return {
    method: 'GET',
    path: '/api/v1/alerts',
    async handler(event, ctx) {
      const principal = await requireReader(event, ctx);
      const { app: appId, limit = 100, rule: ruleId } = readHistoryQuery(event); // limit's default: filled in
      const app = await resolveApp(ctx, principal, appId);
      const events = await ctx.store.alerts.listEvents(app, limit, ruleId);
      return {
        alerts: events.map((e) => ({ ...e, notifications: e.notifications.map(notificationView) })),
      } satisfies AlertEventList;
    },
    openapi: {
      summary: 'Alert history, newest first: each firing and resolution with its value and notification attempts',
      security: READ_SECURITY,
      parameters: [...queryParametersOf(AlertHistoryParams)],
      responses: {
        '200': {
          description: 'History',
          content: json(AlertEventList),
        },
        ...errorResponses(400, 401, 403, 404, 503),
      },
    },
  };
}
