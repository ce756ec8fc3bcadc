// Evaluates every enabled alert rule after the engine's minute job, with the job's clock: the rule's figure
// over its window of complete minutes, then the state machine. ok/resolved → firing when the condition holds
// (and the window had at least minSessions sessions, and the cool-down since the last firing has passed);
// firing → resolved when it no longer holds. Below the minimum volume a rule keeps its state: three sessions
// at night neither page anyone nor end an alert. Each transition is one store transaction that also queues a
// notification per channel; the outbox delivers them later, outside the job.
import { qoeSummaryPeriod } from '../engine/index.ts';
import type { AlertRuleRecord, Store } from '../store/index.ts';
import type { AlertBody, OutboxPayload } from './notification-format.ts';

const MINUTE = 60_000;

export interface RuleReading {
  /** The figure the rule compares, null when unknown (no data). */
  value: number | null;
  /** Whether there was enough volume to judge (minSessions). */
  enough: boolean;
  /** For moment rules: whether a moment is under way in the window. */
  holds?: boolean;
}

export interface EvaluationReport {
  rules: number;
  transitions: Array<{ ruleId: number; state: 'firing' | 'resolved'; value: number | null }>;
  durationMs: number;
}

export class AlertEvaluator {
  constructor(
    private readonly store: Store,
    /** The dashboard's address (publicUrl, or where this server listens). */
    private readonly dashboardUrl: () => string,
    /** Called when notifications were queued. */
    private readonly onQueued: () => void,
  ) {}

  /** The dashboard's address without a trailing slash, for links in notifications (never a request's Host). */
  dashboardLink(): string {
    return this.dashboardUrl().replace(/\/$/, '');
  }

  /** Evaluates every enabled rule at `now` (the minute job's clock). */
  async evaluate(now: number): Promise<EvaluationReport> {
    const started = performance.now();
    const rules = await this.store.alerts.listEnabledRules();
    const transitions: EvaluationReport['transitions'] = [];
    for (const rule of rules) {
      const t = await this.evaluateRule(rule, now);
      if (t) transitions.push(t);
      // Each rule is a few synchronous reads: give requests their turn between rules.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (transitions.length > 0) this.onQueued();
    return { rules: rules.length, transitions, durationMs: performance.now() - started };
  }

  private async evaluateRule(rule: AlertRuleRecord, now: number) {
    const end = Math.floor(now / MINUTE) * MINUTE;
    const from = end - rule.windowMinutes * MINUTE;
    const reading = await this.read(rule, from, end);
    const holds =
      reading.holds ??
      (reading.value !== null &&
        (rule.op === 'above' ? reading.value > rule.threshold : reading.value < rule.threshold));
    let to: 'firing' | 'resolved' | null = null;
    if (reading.enough) {
      if (holds && rule.state !== 'firing') {
        const cooling = rule.lastFiredAt !== null && now - rule.lastFiredAt < rule.cooldownMinutes * MINUTE;
        if (!cooling) to = 'firing';
      } else if (!holds && rule.state === 'firing') to = 'resolved';
    }
    if (to === null) {
      await this.store.alerts.recordEvaluation(rule.id, reading.value, now);
      return null;
    }
    const event = await this.store.alerts.recordTransition({
      ruleId: rule.id,
      from: rule.state,
      to,
      value: reading.value,
      at: now,
      channelIds: rule.channelIds,
      payload: (e) => JSON.stringify({ alert: this.body(rule, e.state, e.value, e.at) } satisfies OutboxPayload),
    });
    return event ? { ruleId: rule.id, state: to, value: reading.value } : null;
  }

  private async read(rule: AlertRuleRecord, from: number, to: number): Promise<RuleReading> {
    const filter = rule.filter ?? { dimension: 'global', value: '' };
    switch (rule.metric) {
      case 'viewers': {
        // Mean of each minute's peak concurrent viewers (a minute without a row had none).
        const rows = await this.store.streamSeries(60_000, rule.appId, filter.dimension, filter.value, from, to);
        const minutes = Math.max(1, (to - from) / MINUTE);
        const sum = rows.reduce((a, r) => a + r.peakConcurrent, 0);
        return { value: Math.round((sum / minutes) * 100) / 100, enough: true };
      }
      case 'moment': {
        const moments = await this.store.listMoments({ from, to, apps: [rule.appId], limit: 100 });
        const matching = moments.filter(
          (m) => !rule.filter || (m.dimension === rule.filter.dimension && m.value === rule.filter.value),
        );
        const latest = matching[0];
        return { value: latest ? latest.peakValue : null, enough: true, holds: matching.length > 0 };
      }
      default: {
        // Bitrate is not a rule metric: the rollups alone answer (no raw-session read).
        const figures = await qoeSummaryPeriod(this.store, rule.appId, filter, from, to, Number.POSITIVE_INFINITY);
        const sessions = figures.sessions ?? 0;
        const value = figures[rule.metric];
        return { value, enough: rule.metric === 'sessions' || sessions >= rule.minSessions };
      }
    }
  }

  /** The generic webhook's `alert` object for a transition of `rule`. */
  body(rule: AlertRuleRecord, state: 'firing' | 'resolved', value: number | null, at: number): AlertBody {
    const page = rule.metric === 'viewers' ? 'live' : rule.metric === 'moment' ? 'moments' : 'overview';
    const filter: Record<string, string> =
      rule.filter && page === 'overview' ? { dim: rule.filter.dimension, value: rule.filter.value } : {};
    const range: Record<string, string> =
      page === 'live' ? {} : { range: 'custom', from: String(at - 2 * 3_600_000), to: String(at + 30 * MINUTE) };
    const params = new URLSearchParams({ app: rule.appId, ...range, ...filter });
    return {
      ruleId: rule.id,
      name: rule.name,
      appId: rule.appId,
      state,
      metric: rule.metric,
      value,
      threshold: rule.threshold,
      windowMinutes: rule.windowMinutes,
      at,
      url: `${this.dashboardUrl().replace(/\/$/, '')}/${page}?${params}`,
      op: rule.op,
      filter: rule.filter ? { [rule.filter.dimension]: rule.filter.value } : null,
    };
  }
}
