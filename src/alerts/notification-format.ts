// What each kind of channel receives for one alert: the generic webhook's JSON (HMAC-signed when it has a
// secret), Slack's and Discord's incoming-webhook messages, an ntfy publish (text body, title and priority in
// headers), and an email's subject and text.
import { createHmac } from 'node:crypto';
import type { ChannelType } from '../store/index.ts';
import type { NtfySettings, WebhookSettings } from './channel-settings.ts';

/** The alert as the generic webhook receives it (`{"alert": …}`). */
export interface AlertBody {
  ruleId: number;
  name: string;
  appId: string;
  state: 'firing' | 'resolved';
  metric: string;
  value: number | null;
  threshold: number;
  windowMinutes: number;
  /** When the rule changed state, epoch ms. */
  at: number;
  /** Opens the dashboard at that moment. */
  url: string;
  op: 'above' | 'below';
  filter: Record<string, string> | null;
}

/** What the outbox keeps for one notification. */
export interface OutboxPayload {
  alert: AlertBody;
  /** A channel's test message, not a real alert. */
  test?: true;
}

export interface HttpNotification {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const LABELS: Record<string, [string, string]> = {
  playback_failure_pct: ['Playback failures', ' %'],
  startup_p95_ms: ['Startup p95', ' ms'],
  rebuffer_pct: ['Rebuffering', ' %'],
  sessions: ['Sessions', ''],
  viewers: ['Viewers', ''],
  moment: ['A moment', ''],
};

const shown = (v: number | null, unit: string) =>
  v === null ? 'no data' : `${Number.isInteger(v) ? v : v.toFixed(2)}${unit}`;

/** One line a person reads: "[FIRING] CDN errors: Playback failures 12.50 % (above 5 % over 10 min) · app tv". */
export function alertSummary(p: OutboxPayload): { title: string; text: string } {
  const a = p.alert;
  const [label, unit] = LABELS[a.metric] ?? [a.metric, ''];
  const state = p.test ? 'TEST' : a.state.toUpperCase();
  const where = a.filter ? ` (${Object.entries(a.filter).map(([k, v]) => `${k} = ${v}`)[0]})` : '';
  const title = `[${state}] ${a.name}`;
  const condition =
    a.metric === 'moment'
      ? a.state === 'firing'
        ? 'a moment started'
        : 'the moment ended'
      : `${label} ${shown(a.value, unit)} (${a.op} ${shown(a.threshold, unit)} over ${a.windowMinutes} min)`;
  const text = `${title}: ${condition}${where} · app ${a.appId}${p.test ? ' · this is a test message from m3w' : ''}`;
  return { title, text };
}

/** The HTTP request for a webhook-like channel (every type but email). */
export function httpNotification(
  type: Exclude<ChannelType, 'email'>,
  settings: WebhookSettings | NtfySettings,
  payload: OutboxPayload,
  deliveryId: number,
): HttpNotification {
  const { title, text } = alertSummary(payload);
  const a = payload.alert;
  const firing = a.state === 'firing';
  const json = { 'content-type': 'application/json', 'user-agent': 'm3w-alerts' };
  switch (type) {
    case 'webhook': {
      const body = JSON.stringify(payload.test ? { alert: a, test: true } : { alert: a });
      const secret = (settings as WebhookSettings).secret;
      return {
        url: settings.url,
        headers: {
          ...json,
          'x-m3w-delivery': String(deliveryId),
          ...(secret ? { 'x-m3w-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } : {}),
        },
        body,
      };
    }
    case 'slack': {
      // Slack incoming webhooks: `text` (the notification's fallback) and Block Kit `blocks`. Names and filter
      // values are escaped: a rule named "<!channel>" or "<https://…|…>" must not ping everyone or make a link.
      const rest = slackEscape(text.slice(title.length + 2));
      return {
        url: settings.url,
        headers: json,
        body: JSON.stringify({
          text: slackEscape(text),
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(title)}*\n${rest}` } },
            { type: 'context', elements: [{ type: 'mrkdwn', text: `<${a.url}|Open in m3w>` }] },
          ],
        }),
      };
    }
    case 'discord':
      // Discord webhooks: `content` and/or `embeds` (title, description, url, color, timestamp).
      return {
        url: settings.url,
        headers: json,
        body: JSON.stringify({
          username: 'm3w',
          // No @everyone, @here, role or user pings from a rule's name.
          allowed_mentions: { parse: [] },
          content: title,
          embeds: [
            {
              title,
              description: text,
              url: a.url,
              color: payload.test ? 0x3b82f6 : firing ? 0xdc2626 : 0x16a34a,
              timestamp: new Date(a.at).toISOString(),
            },
          ],
        }),
      };
    case 'ntfy': {
      // ntfy: POST the message to the topic URL; title, priority, tags and click action as headers.
      const token = (settings as NtfySettings).token;
      return {
        url: settings.url,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          title: asciiHeader(title),
          priority: firing && !payload.test ? 'high' : 'default',
          tags: payload.test ? 'test_tube' : firing ? 'rotating_light' : 'white_check_mark',
          click: a.url,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: text,
      };
    }
  }
}

/** Slack's mrkdwn control characters as entities (https://api.slack.com/reference/surfaces/formatting#escaping). */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Header values must be ASCII: anything else becomes "?". */
function asciiHeader(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 250);
}

export function emailMessage(payload: OutboxPayload): { subject: string; text: string } {
  const { title, text } = alertSummary(payload);
  return { subject: title, text: `${text}\n\nOpen in m3w: ${payload.alert.url}\n` };
}
