// The alerts part of the Store contract: notification channels (their settings sealed by the caller, stored
// as an opaque string), alert rules with their state, the history of transitions, and the delivery outbox.
// Adapters expose it as `store.alerts`. Every row carries its app; callers scope reads by it.

export const CHANNEL_TYPES = ['webhook', 'slack', 'discord', 'ntfy', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface ChannelRecord {
  id: number;
  appId: string;
  name: string;
  type: ChannelType;
  /** The settings as the caller sealed them (encrypted); the store never reads them. */
  sealed: string;
  createdAt: number;
}

export type NewChannel = Omit<ChannelRecord, 'id'>;

export const ALERT_METRICS = [
  'playback_failure_pct',
  'startup_p95_ms',
  'rebuffer_pct',
  'sessions',
  'viewers',
  'moment',
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];
export type AlertState = 'ok' | 'firing' | 'resolved';

export interface AlertRuleSettings {
  name: string;
  metric: AlertMetric;
  op: 'above' | 'below';
  threshold: number;
  windowMinutes: number;
  minSessions: number;
  cooldownMinutes: number;
  channelIds: number[];
  /** One dimension value the rule watches (content, device, country, channel...), or the whole app. */
  filter: { dimension: string; value: string } | null;
  enabled: boolean;
}

export interface AlertRuleRecord extends AlertRuleSettings {
  id: number;
  appId: string;
  state: AlertState;
  stateSince: number | null;
  lastValue: number | null;
  lastEvaluatedAt: number | null;
  lastFiredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewAlertRule extends AlertRuleSettings {
  appId: string;
  createdAt: number;
}

export interface AlertEventRecord {
  id: number;
  appId: string;
  ruleId: number;
  ruleName: string;
  metric: string;
  state: 'firing' | 'resolved';
  value: number | null;
  threshold: number;
  at: number;
}

export interface DeliveryAttempt {
  at: number;
  ok: boolean;
  /** The receiver's HTTP status (or SMTP code), when it answered. */
  status?: number;
  error?: string;
}

export type OutboxStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface OutboxRecord {
  id: number;
  appId: string;
  eventId: number | null;
  channelId: number;
  /** The alert as JSON (rendered for the channel's type when sent). */
  payload: string;
  status: OutboxStatus;
  attempts: number;
  attemptLog: DeliveryAttempt[];
  nextAttemptAt: number;
  deliveredAt: number | null;
  createdAt: number;
}

export interface NewNotification {
  appId: string;
  channelId: number;
  payload: string;
  at: number;
}

/** A state change of a rule: its new state, the history row and one outbox row per channel, all or none. */
export interface AlertTransition {
  ruleId: number;
  /** The state the rule is in now: the change is written only if it still is (another evaluator got there first). */
  from: AlertState;
  to: 'firing' | 'resolved';
  value: number | null;
  at: number;
  /** The outbox payload for each channel, given the history row's id. */
  payload: (event: AlertEventRecord) => string;
  channelIds: readonly number[];
}

export interface AlertStore {
  createChannel(channel: NewChannel): Promise<ChannelRecord>;
  getChannel(id: number): Promise<ChannelRecord | null>;
  listChannels(appId: string): Promise<ChannelRecord[]>;
  /** Deletes a channel and takes it out of its app's rules; false when there is none. */
  deleteChannel(id: number): Promise<boolean>;

  createRule(rule: NewAlertRule): Promise<AlertRuleRecord>;
  getRule(id: number): Promise<AlertRuleRecord | null>;
  listRules(appId: string): Promise<AlertRuleRecord[]>;
  /** Every enabled rule of every app (the evaluator's list). */
  listEnabledRules(): Promise<AlertRuleRecord[]>;
  updateRule(id: number, patch: Partial<AlertRuleSettings>, at: number): Promise<AlertRuleRecord | null>;
  deleteRule(id: number): Promise<boolean>;
  /** The figure a rule saw at its last evaluation. */
  recordEvaluation(id: number, value: number | null, at: number): Promise<void>;
  /** Applies a transition in one transaction; null when the rule is gone or no longer in `from`. */
  recordTransition(t: AlertTransition): Promise<AlertEventRecord | null>;
  /** An app's history, newest first, with the notifications each transition queued. */
  listEvents(
    appId: string,
    limit: number,
    ruleId?: number,
  ): Promise<Array<AlertEventRecord & { notifications: OutboxRecord[] }>>;

  /** Queues one notification outside a transition (a channel's test message). */
  enqueueNotification(n: NewNotification): Promise<OutboxRecord>;
  getNotification(id: number): Promise<OutboxRecord | null>;
  /** Marks up to `limit` due pending notifications as sending and returns them, oldest first. */
  claimDueNotifications(now: number, limit: number): Promise<OutboxRecord[]>;
  /**
   * Records an attempt: delivered when ok, else pending again at `retryAt`, or failed when `retryAt` is null.
   */
  completeNotification(id: number, attempt: DeliveryAttempt, retryAt: number | null): Promise<OutboxRecord | null>;
  /** Puts notifications a stop or crash left in `sending` back to pending (at start-up); returns how many. */
  requeueInterrupted(now: number): Promise<number>;
  /** When the next pending notification is due, or null. */
  nextDueAt(): Promise<number | null>;
}
