// The SQLite side of alerts: notification channels, rules with their state, the transition history and the
// delivery outbox. A transition (rule state, history row, one outbox row per channel) commits as one
// transaction, so a notification is queued exactly when its transition is recorded. The row mappers are shared
// with the Postgres adapter (postgres/alert-store.ts).
import type Database from 'better-sqlite3';
import type {
  AlertEventRecord,
  AlertRuleRecord,
  AlertRuleSettings,
  AlertState,
  AlertStore,
  AlertTransition,
  ChannelRecord,
  ChannelType,
  DeliveryAttempt,
  NewAlertRule,
  NewChannel,
  NewNotification,
  OutboxRecord,
  OutboxStatus,
} from '../alert-types.ts';
import { run } from './run-query.ts';

export interface ChannelRow {
  id: number;
  app_id: string;
  name: string;
  type: string;
  sealed: string;
  created_at: number;
}
export const toChannel = (r: ChannelRow): ChannelRecord => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  type: r.type as ChannelType,
  sealed: r.sealed,
  createdAt: r.created_at,
});

export interface RuleRow {
  id: number;
  app_id: string;
  name: string;
  metric: string;
  op: string;
  threshold: number;
  window_minutes: number;
  min_sessions: number;
  cooldown_minutes: number;
  channel_ids: string;
  filter_dimension: string | null;
  filter_value: string | null;
  enabled: number;
  state: string;
  state_since: number | null;
  last_value: number | null;
  last_evaluated_at: number | null;
  last_fired_at: number | null;
  created_at: number;
  updated_at: number;
}
export const toRule = (r: RuleRow): AlertRuleRecord => ({
  id: r.id,
  appId: r.app_id,
  name: r.name,
  metric: r.metric as AlertRuleRecord['metric'],
  op: r.op as AlertRuleRecord['op'],
  threshold: r.threshold,
  windowMinutes: r.window_minutes,
  minSessions: r.min_sessions,
  cooldownMinutes: r.cooldown_minutes,
  channelIds: JSON.parse(r.channel_ids) as number[],
  filter: r.filter_dimension !== null ? { dimension: r.filter_dimension, value: r.filter_value ?? '' } : null,
  enabled: r.enabled === 1,
  state: r.state as AlertState,
  stateSince: r.state_since,
  lastValue: r.last_value,
  lastEvaluatedAt: r.last_evaluated_at,
  lastFiredAt: r.last_fired_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface EventRow {
  id: number;
  app_id: string;
  rule_id: number;
  rule_name: string;
  metric: string;
  state: string;
  value: number | null;
  threshold: number;
  at: number;
}
export const toEvent = (r: EventRow): AlertEventRecord => ({
  id: r.id,
  appId: r.app_id,
  ruleId: r.rule_id,
  ruleName: r.rule_name,
  metric: r.metric,
  state: r.state as AlertEventRecord['state'],
  value: r.value,
  threshold: r.threshold,
  at: r.at,
});

export interface OutboxRow {
  id: number;
  app_id: string;
  event_id: number | null;
  channel_id: number;
  payload: string;
  status: string;
  attempts: number;
  attempt_log: string;
  next_attempt_at: number;
  delivered_at: number | null;
  created_at: number;
}
export const toOutbox = (r: OutboxRow): OutboxRecord => ({
  id: r.id,
  appId: r.app_id,
  eventId: r.event_id,
  channelId: r.channel_id,
  payload: r.payload,
  status: r.status as OutboxStatus,
  attempts: r.attempts,
  attemptLog: JSON.parse(r.attempt_log) as DeliveryAttempt[],
  nextAttemptAt: r.next_attempt_at,
  deliveredAt: r.delivered_at,
  createdAt: r.created_at,
});

export const RULE_COLUMNS: Record<keyof AlertRuleSettings, string> = {
  name: 'name',
  metric: 'metric',
  op: 'op',
  threshold: 'threshold',
  windowMinutes: 'window_minutes',
  minSessions: 'min_sessions',
  cooldownMinutes: 'cooldown_minutes',
  channelIds: 'channel_ids',
  filter: 'filter',
  enabled: 'enabled',
};

export class SqliteAlertStore implements AlertStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertChannel: db.prepare(
        'INSERT INTO notification_channels (app_id, name, type, sealed, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
      ),
      getChannel: db.prepare('SELECT * FROM notification_channels WHERE id = ?'),
      listChannels: db.prepare('SELECT * FROM notification_channels WHERE app_id = ? ORDER BY id'),
      deleteChannel: db.prepare('DELETE FROM notification_channels WHERE id = ? RETURNING app_id'),
      rulesOfApp: db.prepare('SELECT * FROM alert_rules WHERE app_id = ? ORDER BY id'),
      setRuleChannels: db.prepare('UPDATE alert_rules SET channel_ids = ? WHERE id = ?'),
      insertRule: db.prepare(
        `INSERT INTO alert_rules (app_id, name, metric, op, threshold, window_minutes, min_sessions, cooldown_minutes,
           channel_ids, filter_dimension, filter_value, enabled, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?) RETURNING *`,
      ),
      getRule: db.prepare('SELECT * FROM alert_rules WHERE id = ?'),
      enabledRules: db.prepare('SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY id'),
      deleteRule: db.prepare('DELETE FROM alert_rules WHERE id = ?'),
      evaluated: db.prepare('UPDATE alert_rules SET last_value = ?, last_evaluated_at = ? WHERE id = ?'),
      transition: db.prepare(
        `UPDATE alert_rules SET state = ?, state_since = ?, last_value = ?, last_evaluated_at = ?,
           last_fired_at = CASE WHEN ? = 'firing' THEN ? ELSE last_fired_at END
         WHERE id = ? AND state = ? RETURNING *`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO alert_events (app_id, rule_id, rule_name, metric, state, value, threshold, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      eventsOfApp: db.prepare('SELECT * FROM alert_events WHERE app_id = ? ORDER BY at DESC, id DESC LIMIT ?'),
      eventsOfRule: db.prepare(
        'SELECT * FROM alert_events WHERE app_id = ? AND rule_id = ? ORDER BY at DESC, id DESC LIMIT ?',
      ),
      outboxOfEvent: db.prepare('SELECT * FROM notification_outbox WHERE event_id = ? ORDER BY id'),
      insertOutbox: db.prepare(
        `INSERT INTO notification_outbox (app_id, event_id, channel_id, payload, status, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING *`,
      ),
      getOutbox: db.prepare('SELECT * FROM notification_outbox WHERE id = ?'),
      due: db.prepare(
        `UPDATE notification_outbox SET status = 'sending'
         WHERE id IN (SELECT id FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= ?
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING *`,
      ),
      complete: db.prepare(
        `UPDATE notification_outbox SET status = ?, attempts = attempts + 1, attempt_log = ?, next_attempt_at = ?,
           delivered_at = ? WHERE id = ? AND status = 'sending' RETURNING *`,
      ),
      requeue: db.prepare(
        "UPDATE notification_outbox SET status = 'pending', next_attempt_at = min(next_attempt_at, ?) WHERE status = 'sending'",
      ),
      nextDue: db.prepare("SELECT min(next_attempt_at) FROM notification_outbox WHERE status = 'pending'").pluck(),
    };
  }

  async createChannel(c: NewChannel): Promise<ChannelRecord> {
    return run('createChannel', () =>
      toChannel(this.s.insertChannel.get(c.appId, c.name, c.type, c.sealed, c.createdAt) as ChannelRow),
    );
  }
  async getChannel(id: number): Promise<ChannelRecord | null> {
    return run('getChannel', () => {
      const r = this.s.getChannel.get(id) as ChannelRow | undefined;
      return r ? toChannel(r) : null;
    });
  }
  async listChannels(appId: string): Promise<ChannelRecord[]> {
    return run('listChannels', () => (this.s.listChannels.all(appId) as ChannelRow[]).map(toChannel));
  }
  async deleteChannel(id: number): Promise<boolean> {
    return run('deleteChannel', () =>
      this.db.transaction(() => {
        const gone = this.s.deleteChannel.get(id) as { app_id: string } | undefined;
        if (!gone) return false;
        for (const r of this.s.rulesOfApp.all(gone.app_id) as RuleRow[]) {
          const ids = JSON.parse(r.channel_ids) as number[];
          if (ids.includes(id)) this.s.setRuleChannels.run(JSON.stringify(ids.filter((x) => x !== id)), r.id);
        }
        return true;
      })(),
    );
  }

  async createRule(rule: NewAlertRule): Promise<AlertRuleRecord> {
    return run('createRule', () =>
      toRule(
        this.s.insertRule.get(
          rule.appId,
          rule.name,
          rule.metric,
          rule.op,
          rule.threshold,
          rule.windowMinutes,
          rule.minSessions,
          rule.cooldownMinutes,
          JSON.stringify(rule.channelIds),
          rule.filter?.dimension ?? null,
          rule.filter?.value ?? null,
          rule.enabled ? 1 : 0,
          rule.createdAt,
          rule.createdAt,
        ) as RuleRow,
      ),
    );
  }
  async getRule(id: number): Promise<AlertRuleRecord | null> {
    return run('getRule', () => {
      const r = this.s.getRule.get(id) as RuleRow | undefined;
      return r ? toRule(r) : null;
    });
  }
  async listRules(appId: string): Promise<AlertRuleRecord[]> {
    return run('listRules', () => (this.s.rulesOfApp.all(appId) as RuleRow[]).map(toRule));
  }
  async listEnabledRules(): Promise<AlertRuleRecord[]> {
    return run('listEnabledRules', () => (this.s.enabledRules.all() as RuleRow[]).map(toRule));
  }
  async updateRule(id: number, patch: Partial<AlertRuleSettings>, at: number): Promise<AlertRuleRecord | null> {
    return run('updateRule', () => {
      const sets: string[] = [];
      const args: unknown[] = [];
      for (const [key, value] of Object.entries(patch) as Array<[keyof AlertRuleSettings, unknown]>) {
        if (value === undefined || !(key in RULE_COLUMNS)) continue;
        if (key === 'filter') {
          const f = value as AlertRuleSettings['filter'];
          sets.push('filter_dimension = ?', 'filter_value = ?');
          args.push(f?.dimension ?? null, f?.value ?? null);
        } else if (key === 'channelIds') {
          sets.push('channel_ids = ?');
          args.push(JSON.stringify(value));
        } else if (key === 'enabled') {
          sets.push('enabled = ?');
          args.push(value ? 1 : 0);
        } else {
          sets.push(`${RULE_COLUMNS[key]} = ?`);
          args.push(value);
        }
      }
      sets.push('updated_at = ?');
      args.push(at, id);
      const r = this.db.prepare(`UPDATE alert_rules SET ${sets.join(', ')} WHERE id = ? RETURNING *`).get(...args) as
        | RuleRow
        | undefined;
      return r ? toRule(r) : null;
    });
  }
  async deleteRule(id: number): Promise<boolean> {
    return run('deleteRule', () => this.s.deleteRule.run(id).changes > 0);
  }
  async recordEvaluation(id: number, value: number | null, at: number): Promise<void> {
    run('recordEvaluation', () => this.s.evaluated.run(value, at, id));
  }
  async recordTransition(t: AlertTransition): Promise<AlertEventRecord | null> {
    return run('recordTransition', () =>
      this.db.transaction(() => {
        const r = this.s.transition.get(t.to, t.at, t.value, t.at, t.to, t.at, t.ruleId, t.from) as RuleRow | undefined;
        if (!r) return null;
        const event = toEvent(
          this.s.insertEvent.get(r.app_id, r.id, r.name, r.metric, t.to, t.value, r.threshold, t.at) as EventRow,
        );
        const payload = t.payload(event);
        for (const channelId of t.channelIds)
          this.s.insertOutbox.run(r.app_id, event.id, channelId, payload, t.at, t.at);
        return event;
      })(),
    );
  }
  async listEvents(
    appId: string,
    limit: number,
    ruleId?: number,
  ): Promise<Array<AlertEventRecord & { notifications: OutboxRecord[] }>> {
    return run('listEvents', () => {
      const rows = (
        ruleId === undefined ? this.s.eventsOfApp.all(appId, limit) : this.s.eventsOfRule.all(appId, ruleId, limit)
      ) as EventRow[];
      return rows.map((r) => ({
        ...toEvent(r),
        notifications: (this.s.outboxOfEvent.all(r.id) as OutboxRow[]).map(toOutbox),
      }));
    });
  }

  async enqueueNotification(n: NewNotification): Promise<OutboxRecord> {
    return run('enqueueNotification', () =>
      toOutbox(this.s.insertOutbox.get(n.appId, null, n.channelId, n.payload, n.at, n.at) as OutboxRow),
    );
  }
  async getNotification(id: number): Promise<OutboxRecord | null> {
    return run('getNotification', () => {
      const r = this.s.getOutbox.get(id) as OutboxRow | undefined;
      return r ? toOutbox(r) : null;
    });
  }
  async claimDueNotifications(now: number, limit: number): Promise<OutboxRecord[]> {
    return run('claimDueNotifications', () =>
      (this.s.due.all(now, limit) as OutboxRow[]).map(toOutbox).sort((a, b) => a.id - b.id),
    );
  }
  async completeNotification(
    id: number,
    attempt: DeliveryAttempt,
    retryAt: number | null,
  ): Promise<OutboxRecord | null> {
    return run('completeNotification', () =>
      this.db.transaction(() => {
        const cur = this.s.getOutbox.get(id) as OutboxRow | undefined;
        if (!cur) return null;
        const log = JSON.parse(cur.attempt_log) as DeliveryAttempt[];
        log.push(attempt);
        const status: OutboxStatus = attempt.ok ? 'delivered' : retryAt !== null ? 'pending' : 'failed';
        const r = this.s.complete.get(
          status,
          JSON.stringify(log),
          retryAt ?? cur.next_attempt_at,
          attempt.ok ? attempt.at : null,
          id,
        ) as OutboxRow | undefined;
        return r ? toOutbox(r) : null;
      })(),
    );
  }
  async requeueInterrupted(now: number): Promise<number> {
    return run('requeueInterrupted', () => this.s.requeue.run(now).changes);
  }
  async nextDueAt(): Promise<number | null> {
    return run('nextDueAt', () => (this.s.nextDue.get() as number | null) ?? null);
  }
}
