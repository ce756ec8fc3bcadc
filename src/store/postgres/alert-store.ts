// The Postgres side of alerts, the SQLite adapter's alert-store.ts in Postgres spelling (row mapping shared with
// it): a transition (rule state guarded on the previous one, history row, one outbox row per channel) commits as
// one transaction; due notifications are claimed with FOR UPDATE SKIP LOCKED, so two claimers never take the same
// row; completing a notification locks its row and changes it only while it is being sent.
import type pg from 'pg';
import type {
  AlertEventRecord,
  AlertRuleRecord,
  AlertRuleSettings,
  AlertStore,
  AlertTransition,
  ChannelRecord,
  DeliveryAttempt,
  NewAlertRule,
  NewChannel,
  NewNotification,
  OutboxRecord,
  OutboxStatus,
} from '../alert-types.ts';
import {
  RULE_COLUMNS,
  toChannel,
  toEvent,
  toOutbox,
  toRule,
  type ChannelRow,
  type EventRow,
  type OutboxRow,
  type RuleRow,
} from '../sqlite/alert-store.ts';
import { q, transaction } from './database.ts';

const INSERT_OUTBOX = `INSERT INTO notification_outbox (app_id, event_id, channel_id, payload, status, next_attempt_at,
  created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING *`;

export class PostgresAlertStore implements AlertStore {
  constructor(private readonly pool: pg.Pool) {}

  async createChannel(c: NewChannel): Promise<ChannelRecord> {
    const r = await q<ChannelRow>(
      this.pool,
      'createChannel',
      'INSERT INTO notification_channels (app_id, name, type, sealed, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [c.appId, c.name, c.type, c.sealed, c.createdAt],
    );
    return toChannel(r.rows[0]!);
  }

  async getChannel(id: number): Promise<ChannelRecord | null> {
    const r = await q<ChannelRow>(this.pool, 'getChannel', 'SELECT * FROM notification_channels WHERE id = $1', [id]);
    return r.rows[0] ? toChannel(r.rows[0]) : null;
  }

  async listChannels(appId: string): Promise<ChannelRecord[]> {
    const r = await q<ChannelRow>(
      this.pool,
      'listChannels',
      'SELECT * FROM notification_channels WHERE app_id = $1 ORDER BY id',
      [appId],
    );
    return r.rows.map(toChannel);
  }

  async deleteChannel(id: number): Promise<boolean> {
    return transaction(this.pool, 'deleteChannel', async (c) => {
      const gone = (
        await c.query<{ app_id: string }>('DELETE FROM notification_channels WHERE id = $1 RETURNING app_id', [id])
      ).rows[0];
      if (!gone) return false;
      // The app's rules locked while their channel lists are rewritten (a concurrent updateRule waits).
      const rules = (
        await c.query<RuleRow>('SELECT * FROM alert_rules WHERE app_id = $1 ORDER BY id FOR UPDATE', [gone.app_id])
      ).rows;
      for (const r of rules) {
        const ids = JSON.parse(r.channel_ids) as number[];
        if (ids.includes(id))
          await c.query('UPDATE alert_rules SET channel_ids = $1 WHERE id = $2', [
            JSON.stringify(ids.filter((x) => x !== id)),
            r.id,
          ]);
      }
      return true;
    });
  }

  async createRule(rule: NewAlertRule): Promise<AlertRuleRecord> {
    const r = await q<RuleRow>(
      this.pool,
      'createRule',
      `INSERT INTO alert_rules (app_id, name, metric, op, threshold, window_minutes, min_sessions, cooldown_minutes,
         channel_ids, filter_dimension, filter_value, enabled, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'ok', $13, $14) RETURNING *`,
      [
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
      ],
    );
    return toRule(r.rows[0]!);
  }

  async getRule(id: number): Promise<AlertRuleRecord | null> {
    const r = await q<RuleRow>(this.pool, 'getRule', 'SELECT * FROM alert_rules WHERE id = $1', [id]);
    return r.rows[0] ? toRule(r.rows[0]) : null;
  }

  async listRules(appId: string): Promise<AlertRuleRecord[]> {
    const r = await q<RuleRow>(this.pool, 'listRules', 'SELECT * FROM alert_rules WHERE app_id = $1 ORDER BY id', [
      appId,
    ]);
    return r.rows.map(toRule);
  }

  async listEnabledRules(): Promise<AlertRuleRecord[]> {
    const r = await q<RuleRow>(
      this.pool,
      'listEnabledRules',
      'SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY id',
    );
    return r.rows.map(toRule);
  }

  async updateRule(id: number, patch: Partial<AlertRuleSettings>, at: number): Promise<AlertRuleRecord | null> {
    const sets: string[] = [];
    const args: unknown[] = [];
    const set = (column: string, value: unknown) => {
      args.push(value);
      sets.push(`${column} = $${args.length}`);
    };
    for (const [key, value] of Object.entries(patch) as Array<[keyof AlertRuleSettings, unknown]>) {
      if (value === undefined || !(key in RULE_COLUMNS)) continue;
      if (key === 'filter') {
        const f = value as AlertRuleSettings['filter'];
        set('filter_dimension', f?.dimension ?? null);
        set('filter_value', f?.value ?? null);
      } else if (key === 'channelIds') set('channel_ids', JSON.stringify(value));
      else if (key === 'enabled') set('enabled', value ? 1 : 0);
      else set(RULE_COLUMNS[key], value);
    }
    set('updated_at', at);
    args.push(id);
    const r = await q<RuleRow>(
      this.pool,
      'updateRule',
      `UPDATE alert_rules SET ${sets.join(', ')} WHERE id = $${args.length} RETURNING *`,
      args,
    );
    return r.rows[0] ? toRule(r.rows[0]) : null;
  }

  async deleteRule(id: number): Promise<boolean> {
    const r = await q(this.pool, 'deleteRule', 'DELETE FROM alert_rules WHERE id = $1', [id]);
    return (r.rowCount ?? 0) > 0;
  }

  async recordEvaluation(id: number, value: number | null, at: number): Promise<void> {
    await q(
      this.pool,
      'recordEvaluation',
      'UPDATE alert_rules SET last_value = $1, last_evaluated_at = $2 WHERE id = $3',
      [value, at, id],
    );
  }

  async recordTransition(t: AlertTransition): Promise<AlertEventRecord | null> {
    return transaction(this.pool, 'recordTransition', async (c) => {
      // Guarded on the previous state: a second evaluator's UPDATE waits on the row lock, then finds the state
      // changed and matches nothing, so it writes no history and queues nothing.
      const r = (
        await c.query<RuleRow>(
          `UPDATE alert_rules SET state = $1, state_since = $2, last_value = $3, last_evaluated_at = $2,
             last_fired_at = CASE WHEN $1 = 'firing' THEN $2 ELSE last_fired_at END
           WHERE id = $4 AND state = $5 RETURNING *`,
          [t.to, t.at, t.value, t.ruleId, t.from],
        )
      ).rows[0];
      if (!r) return null;
      const event = toEvent(
        (
          await c.query<EventRow>(
            `INSERT INTO alert_events (app_id, rule_id, rule_name, metric, state, value, threshold, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
            [r.app_id, r.id, r.name, r.metric, t.to, t.value, r.threshold, t.at],
          )
        ).rows[0]!,
      );
      const payload = t.payload(event);
      for (const channelId of t.channelIds)
        await c.query(INSERT_OUTBOX, [r.app_id, event.id, channelId, payload, t.at, t.at]);
      return event;
    });
  }

  async listEvents(
    appId: string,
    limit: number,
    ruleId?: number,
  ): Promise<Array<AlertEventRecord & { notifications: OutboxRecord[] }>> {
    const events = (
      ruleId === undefined
        ? await q<EventRow>(
            this.pool,
            'listEvents',
            'SELECT * FROM alert_events WHERE app_id = $1 ORDER BY at DESC, id DESC LIMIT $2',
            [appId, limit],
          )
        : await q<EventRow>(
            this.pool,
            'listEvents',
            'SELECT * FROM alert_events WHERE app_id = $1 AND rule_id = $2 ORDER BY at DESC, id DESC LIMIT $3',
            [appId, ruleId, limit],
          )
    ).rows;
    if (events.length === 0) return [];
    const outbox = (
      await q<OutboxRow>(
        this.pool,
        'listEvents',
        'SELECT * FROM notification_outbox WHERE event_id = ANY($1::bigint[]) ORDER BY id',
        [events.map((e) => e.id)],
      )
    ).rows;
    const byEvent = new Map<number, OutboxRecord[]>();
    for (const o of outbox) {
      const list = byEvent.get(o.event_id!) ?? [];
      list.push(toOutbox(o));
      byEvent.set(o.event_id!, list);
    }
    return events.map((e) => ({ ...toEvent(e), notifications: byEvent.get(e.id) ?? [] }));
  }

  async enqueueNotification(n: NewNotification): Promise<OutboxRecord> {
    const r = await q<OutboxRow>(this.pool, 'enqueueNotification', INSERT_OUTBOX, [
      n.appId,
      null,
      n.channelId,
      n.payload,
      n.at,
      n.at,
    ]);
    return toOutbox(r.rows[0]!);
  }

  async getNotification(id: number): Promise<OutboxRecord | null> {
    const r = await q<OutboxRow>(this.pool, 'getNotification', 'SELECT * FROM notification_outbox WHERE id = $1', [id]);
    return r.rows[0] ? toOutbox(r.rows[0]) : null;
  }

  async claimDueNotifications(now: number, limit: number): Promise<OutboxRecord[]> {
    // SKIP LOCKED: a second claimer running at the same time passes over the rows the first has locked instead of
    // waiting for them (and then claiming them again once they are sending).
    const r = await q<OutboxRow>(
      this.pool,
      'claimDueNotifications',
      `UPDATE notification_outbox SET status = 'sending'
       WHERE id IN (SELECT id FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= $1
                    ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         AND status = 'pending'
       RETURNING *`,
      [now, limit],
    );
    return r.rows.map(toOutbox).sort((a, b) => a.id - b.id);
  }

  async completeNotification(
    id: number,
    attempt: DeliveryAttempt,
    retryAt: number | null,
  ): Promise<OutboxRecord | null> {
    return transaction(this.pool, 'completeNotification', async (c) => {
      const cur = (await c.query<OutboxRow>('SELECT * FROM notification_outbox WHERE id = $1 FOR UPDATE', [id]))
        .rows[0];
      if (!cur) return null;
      const log = JSON.parse(cur.attempt_log) as DeliveryAttempt[];
      log.push(attempt);
      const status: OutboxStatus = attempt.ok ? 'delivered' : retryAt !== null ? 'pending' : 'failed';
      const r = (
        await c.query<OutboxRow>(
          `UPDATE notification_outbox SET status = $1, attempts = attempts + 1, attempt_log = $2, next_attempt_at = $3,
             delivered_at = $4 WHERE id = $5 AND status = 'sending' RETURNING *`,
          [status, JSON.stringify(log), retryAt ?? cur.next_attempt_at, attempt.ok ? attempt.at : null, id],
        )
      ).rows[0];
      return r ? toOutbox(r) : null;
    });
  }

  async requeueInterrupted(now: number): Promise<number> {
    const r = await q(
      this.pool,
      'requeueInterrupted',
      "UPDATE notification_outbox SET status = 'pending', next_attempt_at = LEAST(next_attempt_at, $1) WHERE status = 'sending'",
      [now],
    );
    return r.rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | null> {
    const r = await q<{ t: number | null }>(
      this.pool,
      'nextDueAt',
      "SELECT min(next_attempt_at) AS t FROM notification_outbox WHERE status = 'pending'",
    );
    return r.rows[0]?.t ?? null;
  }
}
