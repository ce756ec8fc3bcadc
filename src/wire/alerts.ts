// Wire formats of alerts: notification channels (settings in, redacted settings out), alert rules with their
// state, and the history of transitions with their notification attempts.
import Type from 'typebox';
import { epochMs, epochMsOrNull, label } from './fields.ts';

/** The store's CHANNEL_TYPES and ALERT_METRICS (wire schemas import no part); the routes' types keep them in step. */
export const CHANNEL_TYPE_NAMES = ['webhook', 'slack', 'discord', 'ntfy', 'email'] as const;
export const ALERT_METRIC_NAMES = [
  'playback_failure_pct',
  'startup_p95_ms',
  'rebuffer_pct',
  'sessions',
  'viewers',
  'moment',
] as const;

const appId = Type.String({ minLength: 1, maxLength: 63, description: 'May be omitted when you see one app' });

export const NewChannelBody = Type.Object(
  {
    appId: Type.Optional(appId),
    name: label(100, 'What people call the channel'),
    type: Type.Enum(CHANNEL_TYPE_NAMES, { 'x-expected': CHANNEL_TYPE_NAMES.map((t) => `"${t}"`).join(', ') }),
    config: Type.Record(Type.String(), Type.Unknown(), {
      writeOnly: true,
      'x-expected':
        'an object: {url, secret?} (webhook), {url} (slack, discord), {url | topic, token?} (ntfy), {host, port?, security?, user?, password?, from, to} (email)',
      description:
        'webhook: {url, secret?}; slack/discord: {url} (the incoming-webhook URL); ntfy: {url (topic URL) or topic, token?}; email: {host, port, security: "tls" | "starttls" | "none", user?, password?, from, to: [addresses]}',
    }),
  },
  { $id: 'NewChannelBody' },
);
export type NewChannelBody = Type.Static<typeof NewChannelBody>;

export const Channel = Type.Object(
  {
    id: Type.Integer(),
    appId: Type.String(),
    name: Type.String(),
    type: Type.Enum(CHANNEL_TYPE_NAMES),
    config: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The settings with every secret hidden (URLs show only scheme and host; passwords "••••")',
    }),
    createdAt: epochMs('When the channel was added'),
  },
  { $id: 'NotificationChannel' },
);

const count = (min: number, max: number, what: string) =>
  Type.Integer({ minimum: min, maximum: max, 'x-expected': `an integer from ${min} to ${max} (${what})` });

const ruleFields = {
  name: label(100, 'What people call the rule'),
  metric: Type.Enum(ALERT_METRIC_NAMES, { 'x-expected': ALERT_METRIC_NAMES.map((m) => `"${m}"`).join(', ') }),
  op: Type.Enum(['above', 'below'] as const, { 'x-expected': '"above" or "below"' }),
  threshold: Type.Number({ minimum: -1e12, maximum: 1e12, 'x-expected': 'a number' }),
  windowMinutes: count(1, 1440, 'minutes'),
  minSessions: count(0, 1_000_000, 'sessions in the window before the rule may fire or resolve'),
  cooldownMinutes: count(0, 10_080, 'minutes after firing before it may fire again'),
  channelIds: Type.Array(Type.Integer({ minimum: 1 }), {
    maxItems: 20,
    'x-expected': 'an array of up to 20 notification channel ids',
  }),
  filter: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()], {
    'x-expected': 'an object with one dimension and its value, e.g. {"country": "DE"}, or null',
    description: 'One dimension value to watch ({"contentId": "…"}, {"channel": "…"}…); null: the whole app',
  }),
  enabled: Type.Boolean({ 'x-expected': 'true or false' }),
};

export const NewAlertRuleBody = Type.Object(
  {
    appId: Type.Optional(appId),
    name: ruleFields.name,
    metric: ruleFields.metric,
    op: Type.Optional(ruleFields.op),
    threshold: Type.Optional(ruleFields.threshold),
    windowMinutes: Type.Optional(ruleFields.windowMinutes),
    minSessions: Type.Optional(ruleFields.minSessions),
    cooldownMinutes: Type.Optional(ruleFields.cooldownMinutes),
    channelIds: Type.Optional(ruleFields.channelIds),
    filter: Type.Optional(ruleFields.filter),
    enabled: Type.Optional(ruleFields.enabled),
  },
  { $id: 'NewAlertRuleBody' },
);
export type NewAlertRuleBody = Type.Static<typeof NewAlertRuleBody>;

export const AlertRulePatchBody = Type.Object(
  Object.fromEntries(Object.entries(ruleFields).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof typeof ruleFields]: Type.TOptional<(typeof ruleFields)[K]>;
  },
  { $id: 'AlertRulePatchBody' },
);
export type AlertRulePatchBody = Type.Static<typeof AlertRulePatchBody>;

export const AlertRule = Type.Object(
  {
    id: Type.Integer(),
    appId: Type.String(),
    ...ruleFields,
    state: Type.Enum(['ok', 'firing', 'resolved'] as const),
    stateSince: epochMsOrNull('When the rule last changed state'),
    lastValue: Type.Union([Type.Number(), Type.Null()], { description: 'The figure at the last evaluation' }),
    lastEvaluatedAt: epochMsOrNull('When the rule was last evaluated'),
    lastFiredAt: epochMsOrNull('When the rule last fired'),
    createdAt: epochMs('When the rule was made'),
    updatedAt: epochMs('When the rule was last changed'),
  },
  { $id: 'AlertRule' },
);

export const Notification = Type.Object(
  {
    id: Type.Integer(),
    channelId: Type.Integer(),
    status: Type.Enum(['pending', 'sending', 'delivered', 'failed'] as const),
    attempts: Type.Integer(),
    attemptLog: Type.Array(
      Type.Object({
        at: Type.Integer(),
        ok: Type.Boolean(),
        status: Type.Optional(Type.Integer()),
        error: Type.Optional(Type.String()),
      }),
    ),
    nextAttemptAt: epochMs('When it is (or was) due'),
    deliveredAt: epochMsOrNull('When the receiver accepted it'),
  },
  { $id: 'Notification' },
);

export const AlertEvent = Type.Object(
  {
    id: Type.Integer(),
    appId: Type.String(),
    ruleId: Type.Integer(),
    ruleName: Type.String(),
    metric: Type.String(),
    state: Type.Enum(['firing', 'resolved'] as const),
    value: Type.Union([Type.Number(), Type.Null()]),
    threshold: Type.Number(),
    at: epochMs('When the rule changed state'),
    notifications: Type.Array(Notification),
  },
  { $id: 'AlertEvent' },
);
export type Channel = Type.Static<typeof Channel>;
export type AlertRule = Type.Static<typeof AlertRule>;
export type Notification = Type.Static<typeof Notification>;
export type AlertEvent = Type.Static<typeof AlertEvent>;

export const ChannelList = Type.Object({ channels: Type.Array(Channel) }, { $id: 'NotificationChannelList' });
export type ChannelList = Type.Static<typeof ChannelList>;

export const AlertRuleList = Type.Object({ rules: Type.Array(AlertRule) }, { $id: 'AlertRuleList' });
export type AlertRuleList = Type.Static<typeof AlertRuleList>;

export const AlertEventList = Type.Object(
  { alerts: Type.Array(AlertEvent, { description: 'newest first' }) },
  { $id: 'AlertEventList' },
);
export type AlertEventList = Type.Static<typeof AlertEventList>;

/** POST /api/v1/notification-channels/{id}/test: how the receiver took the test message. */
export const ChannelTestAnswer = Type.Object({ notification: Notification }, { $id: 'ChannelTestAnswer' });
export type ChannelTestAnswer = Type.Static<typeof ChannelTestAnswer>;

/** GET /api/v1/alerts's query. */
export const AlertHistoryParams = Type.Object({
  app: Type.Optional(Type.String({ description: 'App id; may be omitted when the caller sees exactly one app' })),
  rule: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'one rule only' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
