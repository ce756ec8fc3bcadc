// Alerts: the app's rules with their state (add, pause, delete), the notification channels with a "Send test"
// button that shows how the receiver answered, and the history of firings and resolutions with each
// notification's delivery.
import {
  type AlertNotification,
  type AlertEventList,
  type AlertRule,
  type AlertRuleList,
  api,
  type ChannelTestAnswer,
  get,
  type NotificationChannel,
  type NotificationChannelList,
  qs,
} from '../api.ts';
import type { PageContext } from '../context.ts';
import { actionsHeader, h, labelCells, replace } from '../dom.ts';
import { formatters } from '../format.ts';
import { metricInfo } from '../metrics.ts';
import { field, onSubmit } from './form-helpers.ts';

type Channel = NotificationChannel;
type Rule = AlertRule;

const METRIC_CHOICES: Array<[string, string]> = [
  ['playback_failure_pct', 'Playback failures %'],
  ['startup_p95_ms', 'Startup p95 (ms)'],
  ['rebuffer_pct', 'Rebuffering %'],
  ['sessions', 'Sessions'],
  ['viewers', 'Viewers (a channel)'],
  ['moment', 'A moment starts'],
];
const TYPES = ['webhook', 'slack', 'discord', 'ntfy', 'email'];

const when = (t: number | null) => (t === null ? '—' : new Date(t).toLocaleString());

function figure(metric: string, v: number | null): string {
  if (metric === 'moment') return v === null ? '—' : String(v);
  return formatters[metricInfo(metric === 'viewers' ? 'concurrent_viewers' : metric).unit](v);
}

function condition(r: Rule): string {
  const label = METRIC_CHOICES.find((m) => m[0] === r.metric)?.[1] ?? r.metric;
  const where = r.filter ? ` · ${Object.entries(r.filter)[0]!.join(' = ')}` : '';
  if (r.metric === 'moment') return `${label}${where}`;
  return `${label} ${r.op} ${figure(r.metric, r.threshold)} over ${r.windowMinutes} min${where}`;
}

function delivery(n: AlertNotification, channels: Map<number, Channel>): string {
  const name = channels.get(n.channelId)?.name ?? `channel ${n.channelId}`;
  const last = n.attemptLog.at(-1);
  if (n.status === 'delivered') return `${name}: delivered`;
  if (n.status === 'failed') return `${name}: failed (${last?.error ?? 'no answer'})`;
  return `${name}: ${n.status}${last ? ` after ${n.attempts} attempt(s): ${last.error ?? last.status}` : ''}`;
}

export async function alertsPage(ctx: PageContext): Promise<void> {
  const { main, app } = ctx;
  const rulesEl = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading…'));
  const channelsEl = h('div', { class: 'table-wrap' });
  const historyEl = h('div', { class: 'table-wrap' });
  let ruleForm = h('form', { class: 'card alert-form', 'aria-label': 'New alert rule' });
  const channelForm = h('form', { class: 'card alert-form', 'aria-label': 'New notification channel' });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Alerts')),
    h('section', { 'aria-labelledby': 'rules-h' }, h('h2', { id: 'rules-h' }, 'Rules'), rulesEl, ruleForm),
    h(
      'section',
      { 'aria-labelledby': 'channels-h' },
      h('h2', { id: 'channels-h' }, 'Channels'),
      channelsEl,
      channelForm,
    ),
    h('section', { 'aria-labelledby': 'history-h' }, h('h2', { id: 'history-h' }, 'History'), historyEl),
  );

  let channels: Channel[] = [];
  const load = async () => {
    const [c, r, e] = await Promise.all([
      get<NotificationChannelList>(`/api/v1/notification-channels${qs({ app })}`),
      get<AlertRuleList>(`/api/v1/alert-rules${qs({ app })}`),
      get<AlertEventList>(`/api/v1/alerts${qs({ app, limit: 50 })}`),
    ]);
    channels = c.channels;
    const byId = new Map(channels.map((x) => [x.id, x]));
    replace(
      rulesEl,
      r.rules.length === 0
        ? h('p', { class: 'muted' }, 'No rules yet: add one below to be told when playback goes wrong.')
        : labelCells(
            h(
              'table',
              { class: 'rules' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Rule', 'Condition', 'State', 'Last value', 'Sends to'].map((t) => h('th', { scope: 'col' }, t)),
                  actionsHeader(),
                ),
              ),
              h(
                'tbody',
                {},
                r.rules.map((rule) => {
                  const pause = h('button', { type: 'button', class: 'secondary' }, rule.enabled ? 'Pause' : 'Resume');
                  pause.addEventListener('click', async () => {
                    await api('PATCH', `/api/v1/alert-rules/${rule.id}`, { enabled: !rule.enabled });
                    await load();
                  });
                  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
                  del.addEventListener('click', async () => {
                    if (!confirm(`Delete the rule “${rule.name}”?`)) return;
                    await api('DELETE', `/api/v1/alert-rules/${rule.id}`);
                    await load();
                  });
                  return h(
                    'tr',
                    { 'data-rule': rule.id },
                    h('td', {}, rule.name),
                    h('td', {}, condition(rule)),
                    h(
                      'td',
                      {},
                      h(
                        'span',
                        { class: `chip alert-state ${rule.state}`, title: `since ${when(rule.stateSince)}` },
                        rule.enabled ? rule.state : 'paused',
                      ),
                    ),
                    h(
                      'td',
                      { class: 'num', title: `evaluated ${when(rule.lastEvaluatedAt)}` },
                      figure(rule.metric, rule.lastValue),
                    ),
                    h('td', {}, rule.channelIds.map((id) => byId.get(id)?.name ?? `#${id}`).join(', ') || '—'),
                    h('td', { class: 'actions' }, pause, del),
                  );
                }),
              ),
            ),
          ),
    );
    replace(
      channelsEl,
      channels.length === 0
        ? h('p', { class: 'muted' }, 'No channels yet: add a webhook, Slack, Discord, ntfy or email channel below.')
        : labelCells(
            h(
              'table',
              { class: 'channels' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Channel', 'Type', 'Settings', 'Last test'].map((t) => h('th', { scope: 'col' }, t)),
                  actionsHeader(),
                ),
              ),
              h(
                'tbody',
                {},
                channels.map((c) => {
                  const result = h('span', { role: 'status', class: 'muted' }, '—');
                  const test = h('button', { type: 'button', class: 'secondary' }, 'Send test');
                  test.addEventListener('click', async () => {
                    test.disabled = true;
                    result.className = 'muted';
                    result.textContent = 'Sending…';
                    try {
                      const n = (await api<ChannelTestAnswer>('POST', `/api/v1/notification-channels/${c.id}/test`))
                        .notification;
                      const last = n.attemptLog.at(-1);
                      result.className = n.status === 'delivered' ? 'ok' : 'error';
                      result.textContent =
                        n.status === 'delivered'
                          ? `Delivered (${last?.status ?? 'ok'})`
                          : `Failed: ${last?.error ?? n.status}`;
                    } catch (err) {
                      result.className = 'error';
                      result.textContent = (err as Error).message;
                    } finally {
                      test.disabled = false;
                    }
                  });
                  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
                  del.addEventListener('click', async () => {
                    if (!confirm(`Delete the channel “${c.name}”? Rules stop sending to it.`)) return;
                    await api('DELETE', `/api/v1/notification-channels/${c.id}`);
                    await load();
                  });
                  const settings = Object.entries(c.config)
                    .filter(([, v]) => v !== null)
                    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
                    .join(' · ');
                  return h(
                    'tr',
                    { 'data-channel': c.id },
                    h('td', {}, c.name),
                    h('td', {}, c.type),
                    h('td', { class: 'muted' }, settings),
                    h('td', {}, result),
                    h('td', { class: 'actions' }, test, del),
                  );
                }),
              ),
            ),
          ),
    );
    replace(
      historyEl,
      e.alerts.length === 0
        ? h('p', { class: 'muted' }, 'Nothing has fired yet.')
        : labelCells(
            h(
              'table',
              { class: 'history' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['When', 'Rule', 'State', 'Value', 'Notifications'].map((t) => h('th', { scope: 'col' }, t)),
                ),
              ),
              h(
                'tbody',
                {},
                e.alerts.map((a) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, when(a.at)),
                    h('td', {}, a.ruleName),
                    h('td', {}, h('span', { class: `chip alert-state ${a.state}` }, a.state)),
                    h('td', { class: 'num' }, figure(a.metric, a.value)),
                    h('td', {}, a.notifications.map((n) => delivery(n, byId)).join('; ') || '—'),
                  ),
                ),
              ),
            ),
          ),
    );
    drawRuleForm();
  };

  // ---- new rule ----
  // Drawn again whenever the channels change (a fresh form, so no older submit handler stays attached).
  const drawRuleForm = () => {
    const fresh = h('form', { class: 'card alert-form', 'aria-label': 'New alert rule' });
    ruleForm.replaceWith(fresh);
    ruleForm = fresh;
    const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'Playback failing' });
    const metric = h(
      'select',
      { name: 'metric' },
      METRIC_CHOICES.map(([id, label]) => h('option', { value: id }, label)),
    );
    const op = h(
      'select',
      { name: 'op' },
      h('option', { value: 'above' }, 'above'),
      h('option', { value: 'below' }, 'below'),
    );
    const threshold = h('input', { name: 'threshold', type: 'number', step: 'any', value: '5', required: true });
    const windowMinutes = h('input', { name: 'windowMinutes', type: 'number', min: 1, max: 1440, value: '5' });
    const minSessions = h('input', { name: 'minSessions', type: 'number', min: 0, value: '20' });
    const cooldown = h('input', { name: 'cooldownMinutes', type: 'number', min: 0, value: '30' });
    const filterDim = h('input', { name: 'filterDimension', placeholder: 'e.g. country, channel, contentId' });
    const filterValue = h('input', { name: 'filterValue', placeholder: 'e.g. DE' });
    const picks = channels.map((c) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', value: String(c.id), checked: true }),
        ` ${c.name}`,
      ),
    );
    const error = h('p', { class: 'error', role: 'alert' });
    replace(
      ruleForm,
      h('h3', {}, 'New rule'),
      h(
        'div',
        { class: 'form-grid' },
        field('Name', name),
        field('Metric', metric),
        field('Condition', op),
        field('Threshold', threshold),
        field('Window (minutes)', windowMinutes),
        field('Minimum sessions', minSessions),
        field('Cool-down (minutes)', cooldown),
        field('Only for dimension', filterDim),
        field('… with value', filterValue),
      ),
      picks.length
        ? h('fieldset', {}, h('legend', {}, 'Send to'), picks)
        : h('p', { class: 'muted' }, 'Add a channel to be notified.'),
      error,
      h('button', { type: 'submit' }, 'Add rule'),
    );
    onSubmit(ruleForm, error, async () => {
      const dim = filterDim.value.trim();
      await api('POST', '/api/v1/alert-rules', {
        appId: app,
        name: name.value.trim(),
        metric: metric.value,
        op: op.value,
        threshold: Number(threshold.value),
        windowMinutes: Number(windowMinutes.value),
        minSessions: Number(minSessions.value),
        cooldownMinutes: Number(cooldown.value),
        channelIds: picks
          .map((p) => p.querySelector('input')!)
          .filter((i) => i.checked)
          .map((i) => Number(i.value)),
        filter: dim ? { [dim]: filterValue.value.trim() } : null,
      });
      await load();
    });
  };

  // ---- new channel ----
  const type = h(
    'select',
    { name: 'type' },
    TYPES.map((t) => h('option', { value: t }, t)),
  );
  const chName = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'On-call' });
  const url = h('input', { name: 'url', type: 'url', placeholder: 'https://hooks.slack.com/services/…' });
  const secret = h('input', { name: 'secret', type: 'password', autocomplete: 'off', placeholder: 'optional' });
  const token = h('input', { name: 'token', type: 'password', autocomplete: 'off', placeholder: 'optional' });
  const host = h('input', { name: 'host', placeholder: 'smtp.example.com' });
  const port = h('input', { name: 'port', type: 'number', min: 1, max: 65535, value: '587' });
  const security = h(
    'select',
    { name: 'security' },
    ['starttls', 'tls', 'none'].map((s) => h('option', { value: s }, s)),
  );
  const user = h('input', { name: 'user', autocomplete: 'off' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const from = h('input', { name: 'from', placeholder: 'm3w@example.com' });
  const to = h('input', { name: 'to', placeholder: 'oncall@example.com, you@example.com' });
  const fields = {
    url: field('URL', url),
    secret: field('HMAC secret', secret),
    token: field('Access token', token),
    host: field('SMTP host', host),
    port: field('Port', port),
    security: field('Security', security),
    user: field('User', user),
    password: field('Password', password),
    from: field('From', from),
    to: field('To', to),
  };
  const shownFor: Record<string, Array<keyof typeof fields>> = {
    webhook: ['url', 'secret'],
    slack: ['url'],
    discord: ['url'],
    ntfy: ['url', 'token'],
    email: ['host', 'port', 'security', 'user', 'password', 'from', 'to'],
  };
  const showFields = () => {
    for (const [k, el] of Object.entries(fields)) el.hidden = !shownFor[type.value]!.includes(k as keyof typeof fields);
    url.placeholder =
      type.value === 'ntfy'
        ? 'https://ntfy.sh/your-topic'
        : type.value === 'webhook'
          ? 'https://example.com/hook'
          : url.placeholder;
  };
  type.addEventListener('change', showFields);
  const chError = h('p', { class: 'error', role: 'alert' });
  replace(
    channelForm,
    h('h3', {}, 'New channel'),
    h('div', { class: 'form-grid' }, field('Name', chName), field('Type', type), Object.values(fields)),
    chError,
    h('button', { type: 'submit' }, 'Add channel'),
  );
  showFields();
  onSubmit(channelForm, chError, async () => {
    const t = type.value;
    const config: Record<string, unknown> =
      t === 'email'
        ? {
            host: host.value.trim(),
            port: Number(port.value),
            security: security.value,
            user: user.value || undefined,
            password: password.value || undefined,
            from: from.value.trim(),
            to: to.value
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {
            url: url.value.trim(),
            secret: t === 'webhook' ? secret.value || undefined : undefined,
            token: t === 'ntfy' ? token.value || undefined : undefined,
          };
    await api('POST', '/api/v1/notification-channels', { appId: app, name: chName.value.trim(), type: t, config });
    channelForm.reset();
    showFields();
    await load();
  });

  await load();
}
