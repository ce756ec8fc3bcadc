// Settings: for admins, apps; API keys (created and rotated keys are shown once, with a copy button and how to
// connect with them; rotation asks first and names the new and the old key; revoke); users with their roles and
// app grants (granted in the same form that adds them); the audit log in words, filtered by action and user.
// For everyone: their own account (the apps they may use, their password).
import {
  api,
  get,
  qs,
  type ApiKeyList,
  type ApiKeyUpdateBody,
  type App,
  type AuditEntry,
  type AuditPage,
  type NewApiKey,
  type NewApiKeyBody,
  type NewAppBody,
  type NewUserBody,
  type PasswordChangeBody,
  type ServerInfo,
  type UserRecord,
  type UserList,
  type UserPatchBody,
} from '../api.ts';
import type { PageContext } from '../context.ts';
import { actionsHeader, copyButton, h, labelCells, replace } from '../dom.ts';
import { fmtTime } from '../format.ts';
import { field, onSubmit } from './form-helpers.ts';
import { connectExamples } from './welcome.ts';

const TABS: Array<[string, string]> = [
  ['keys', 'API keys'],
  ['apps', 'Apps'],
  ['users', 'Users'],
  ['audit', 'Audit log'],
  ['account', 'Your account'],
];

/** A new key, shown once, with how to connect with it (endpoint, curl, SDK, webhook already filled in). */
function shownOnce(key: string, heading: string, oldKey?: string): HTMLElement {
  const connect = h('details', { class: 'connect-with-key' }, h('summary', {}, 'Connect with this key'));
  // Filled in when opened: the examples (and their copy buttons) only when someone wants them.
  connect.addEventListener(
    'toggle',
    () =>
      void get<ServerInfo>('/api/v1/server-info')
        .then((info) => connect.append(...connectExamples(info, key)))
        .catch(() => connect.append(h('p', {}, h('a', { href: '/connect' }, 'How to connect')))),
    { once: true },
  );
  return h(
    'div',
    { class: 'card shown-once', role: 'alert' },
    h('h3', {}, heading),
    h('p', {}, 'Copy this key now — it will not be shown again:'),
    h(
      'div',
      { class: 'code' },
      h('pre', { tabindex: '0', 'data-testid': 'new-key' }, key),
      copyButton(() => key),
    ),
    oldKey
      ? h('p', { class: 'muted' }, `The old key ${oldKey}… no longer works: update every client that used it.`)
      : null,
    connect,
  );
}

/** What a person typed as origins: separated by spaces or commas. */
const originList = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

async function keysTab(ctx: PageContext, el: HTMLElement): Promise<void> {
  const app = ctx.app;
  const notice = h('div');
  const table = h('div', { class: 'table-wrap cards' });
  const name = h('input', { name: 'name', required: true, placeholder: 'e.g. android-prod' });
  const ingest = h('input', { type: 'checkbox', name: 'ingest', checked: true });
  const read = h('input', { type: 'checkbox', name: 'read' });
  const origins = h('input', {
    name: 'origins',
    placeholder: 'optional: https://shop.example.com',
    title: 'Sites whose pages may send sessions with this key (browser SDK), separated by spaces; * for any',
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Key name', name),
    h('label', { class: 'check' }, ingest, ' ingest'),
    h('label', { class: 'check' }, read, ' read'),
    field('Browser origins', origins),
    h('button', { type: 'submit' }, 'Create key'),
    error,
  );
  const draw = async () => {
    const { keys } = await get<ApiKeyList>(`/api/v1/apps/${encodeURIComponent(app)}/keys`);
    replace(
      table,
      keys.length === 0
        ? h('p', { class: 'muted' }, 'No keys yet.')
        : labelCells(
            h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Name', 'Prefix', 'Scopes', 'Browser origins', 'Created', 'Last used', 'Status'].map((c) =>
                    h('th', { scope: 'col' }, c),
                  ),
                  actionsHeader(),
                ),
              ),
              h(
                'tbody',
                {},
                keys.map((k) => {
                  const active = k.revokedAt === null;
                  const rotate = h('button', { type: 'button', class: 'secondary' }, 'Rotate');
                  const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke');
                  const editOrigins = h('button', { type: 'button', class: 'secondary' }, 'Origins…');
                  editOrigins.addEventListener('click', async () => {
                    const answer = prompt(
                      `Sites whose pages may use key “${k.name}”, separated by spaces (* for any, empty for none):`,
                      k.allowedOrigins.join(' '),
                    );
                    if (answer === null) return;
                    const body: ApiKeyUpdateBody = { allowedOrigins: originList(answer) };
                    try {
                      await api(
                        'PATCH',
                        `/api/v1/apps/${encodeURIComponent(app)}/keys/${encodeURIComponent(k.prefix)}`,
                        body,
                      );
                    } catch (err) {
                      error.textContent = (err as Error).message;
                      return;
                    }
                    await draw();
                  });
                  rotate.addEventListener('click', async () => {
                    if (
                      !confirm(
                        `Rotate key “${k.name}” (${k.prefix}…)? A new key replaces it and ${k.prefix}… stops working: every client using it needs the new one.`,
                      )
                    )
                      return;
                    const r = await api<NewApiKey>(
                      'POST',
                      `/api/v1/apps/${encodeURIComponent(app)}/keys/${encodeURIComponent(k.prefix)}/rotate`,
                      {},
                    );
                    replace(notice, shownOnce(r.key, `New key for “${k.name}”`, k.prefix));
                    await draw();
                  });
                  revoke.addEventListener('click', async () => {
                    if (!confirm(`Revoke key “${k.name}” (${k.prefix})? Clients using it will be refused.`)) return;
                    await api('DELETE', `/api/v1/apps/${encodeURIComponent(app)}/keys/${encodeURIComponent(k.prefix)}`);
                    await draw();
                  });
                  return h(
                    'tr',
                    {},
                    h('td', {}, k.name),
                    h('td', {}, h('code', {}, k.prefix)),
                    h('td', {}, k.scopes.join(', ')),
                    h('td', { class: 'origins' }, k.allowedOrigins.join(' ') || '—'),
                    h('td', {}, fmtTime(k.createdAt)),
                    h('td', {}, fmtTime(k.lastUsedAt)),
                    h(
                      'td',
                      {},
                      active
                        ? k.expiresAt
                          ? `expires ${fmtTime(k.expiresAt)}`
                          : 'active'
                        : `revoked ${fmtTime(k.revokedAt)}`,
                    ),
                    h('td', { class: 'actions' }, active ? [editOrigins, rotate, revoke] : null),
                  );
                }),
              ),
            ),
          ),
    );
  };
  onSubmit(form, error, async () => {
    const scopes = (['ingest', 'read'] as const).filter((s) => (s === 'ingest' ? ingest : read).checked);
    const body: NewApiKeyBody = { name: name.value.trim(), scopes, allowedOrigins: originList(origins.value) };
    const created = await api<NewApiKey>('POST', `/api/v1/apps/${encodeURIComponent(app)}/keys`, body);
    replace(notice, shownOnce(created.key, `New key “${body.name}”`));
    form.reset();
    await draw();
  });
  replace(el, h('h2', {}, `Keys of app “${app}”`), notice, form, table);
  await draw();
}

async function appsTab(ctx: PageContext, el: HTMLElement): Promise<void> {
  const id = h('input', { name: 'id', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', placeholder: 'my-app' });
  const name = h('input', { name: 'name', required: true, placeholder: 'My app' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Id (lowercase, digits, dashes)', id),
    field('Name', name),
    h('button', { type: 'submit' }, 'Create app'),
    error,
  );
  onSubmit(form, error, async () => {
    await api('POST', '/api/v1/apps', { id: id.value.trim(), name: name.value.trim() } satisfies NewAppBody);
    await ctx.refreshApps();
  });
  const rows = ctx.apps.map((a: App) => {
    const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
    del.addEventListener('click', async () => {
      if (!confirm(`Delete app “${a.name}” and all its data? This cannot be undone.`)) return;
      await api('DELETE', `/api/v1/apps/${encodeURIComponent(a.id)}`);
      await ctx.refreshApps();
    });
    return h(
      'tr',
      {},
      h('td', {}, h('code', {}, a.id)),
      h('td', {}, a.name),
      h('td', {}, fmtTime(a.createdAt)),
      h('td', { class: 'actions' }, del),
    );
  });
  replace(
    el,
    h('h2', {}, 'Apps'),
    form,
    h(
      'div',
      { class: 'table-wrap cards' },
      labelCells(
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Id', 'Name', 'Created'].map((c) => h('th', { scope: 'col' }, c)),
              actionsHeader(),
            ),
          ),
          h('tbody', {}, rows),
        ),
      ),
    ),
  );
}

async function usersTab(ctx: PageContext, el: HTMLElement): Promise<void> {
  const email = h('input', { name: 'email', type: 'email', required: true });
  const password = h('input', {
    name: 'password',
    type: 'password',
    required: true,
    minlength: 10,
    autocomplete: 'new-password',
  });
  const role = h(
    'select',
    { name: 'role' },
    h('option', { value: 'member' }, 'member'),
    h('option', { value: 'admin' }, 'admin'),
  );
  const error = h('p', { class: 'error', role: 'alert' });
  // A member sees only the apps granted here; an admin sees them all (the boxes step aside).
  const grantBoxes = ctx.apps.map((a) => ({
    app: a,
    box: h('input', { type: 'checkbox', name: 'apps', value: a.id }),
  }));
  const grants = h(
    'fieldset',
    { class: 'grants' },
    h('legend', {}, 'May use'),
    grantBoxes.map(({ app, box }) => h('label', { class: 'check' }, box, ` ${app.name}`)),
  );
  role.addEventListener('change', () => (grants.hidden = role.value === 'admin'));
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Email', email),
    field('Password', password),
    field('Role', role),
    grants,
    h('button', { type: 'submit' }, 'Add user'),
    error,
  );
  const table = h('div', { class: 'table-wrap cards' });
  const draw = async () => {
    const { users } = await get<UserList>('/api/v1/users');
    replace(
      table,
      labelCells(
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Email', 'Role', 'Apps', 'Status'].map((c) => h('th', { scope: 'col' }, c)),
              actionsHeader(),
            ),
          ),
          h(
            'tbody',
            {},
            users.map((u) => {
              const grants = ctx.apps.map((a) => {
                const box = h('input', {
                  type: 'checkbox',
                  checked: u.role === 'admin' || u.apps.includes(a.id),
                  disabled: u.role === 'admin',
                  'aria-label': `${u.email} may read ${a.name}`,
                });
                box.addEventListener('change', async () => {
                  await api(
                    box.checked ? 'PUT' : 'DELETE',
                    `/api/v1/users/${u.id}/apps/${encodeURIComponent(a.id)}`,
                    box.checked ? {} : undefined,
                  );
                });
                return h('label', { class: 'check' }, box, ` ${a.name} `);
              });
              const toggle = h('button', { type: 'button', class: 'secondary' }, u.disabled ? 'Enable' : 'Disable');
              toggle.addEventListener('click', async () => {
                await api('PATCH', `/api/v1/users/${u.id}`, { disabled: !u.disabled } satisfies UserPatchBody);
                await draw();
              });
              const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
              del.addEventListener('click', async () => {
                if (!confirm(`Delete ${u.email}?`)) return;
                await api('DELETE', `/api/v1/users/${u.id}`);
                await draw();
              });
              return h(
                'tr',
                {},
                h('td', {}, u.email),
                h('td', {}, u.role),
                h('td', {}, grants),
                h('td', {}, u.disabled ? 'disabled' : 'active'),
                h('td', { class: 'actions' }, u.id === ctx.me.id ? null : [toggle, del]),
              );
            }),
          ),
        ),
      ),
    );
  };
  onSubmit(form, error, async () => {
    const body: NewUserBody = {
      email: email.value,
      password: password.value,
      role: role.value === 'admin' ? 'admin' : 'member',
    };
    const created = await api<UserRecord>('POST', '/api/v1/users', body);
    if (body.role === 'member')
      for (const { app, box } of grantBoxes)
        if (box.checked) await api('PUT', `/api/v1/users/${created.id}/apps/${encodeURIComponent(app.id)}`, {});
    form.reset();
    grants.hidden = false;
    await draw();
  });
  replace(el, h('h2', {}, 'Users'), form, table);
  await draw();
}

/** Audit actions in words. */
const ACTIONS: Record<string, string> = {
  setup_completed: 'Set up m3w',
  login_succeeded: 'Signed in',
  login_failed: 'Failed sign-in',
  password_changed: 'Changed password',
  password_change_failed: 'Failed password change',
  user_created: 'Added user',
  user_deleted: 'Deleted user',
  user_disabled: 'Disabled user',
  user_enabled: 'Enabled user',
  role_changed: 'Changed role',
  app_created: 'Created app',
  app_deleted: 'Deleted app',
  app_renamed: 'Renamed app',
  key_created: 'Created key',
  key_revoked: 'Revoked key',
  key_rotated: 'Rotated key',
  guest_token_issued: 'Issued guest token',
  guest_token_revoked: 'Revoked guest token',
};
const actionLabel = (a: string) => ACTIONS[a] ?? a.replace(/_/g, ' ');

/** "user:2" → the user's email, "key:m3w_ab12" → "key m3w_ab12", "app:tv" → "app tv". */
function targetLabel(target: string | null, emails: Map<number, string>): string {
  if (!target) return '–';
  const [kind, id] = [target.slice(0, target.indexOf(':')), target.slice(target.indexOf(':') + 1)];
  if (kind === 'user') return emails.get(Number(id)) ?? `user #${id}`;
  return kind ? `${kind} ${id}` : target;
}

function detailLabel(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  return Object.entries(detail)
    .map(
      ([k, v]) =>
        `${k.replace(/([A-Z])/g, ' $1').toLowerCase()}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
    .join(' · ');
}

/** A cell whose text may be anything a client sent (a 312-character email): cut on screen, whole on hover. */
const clipped = (label: string, text: string) => h('td', { class: 'clip', title: text, 'data-label': label }, text);

async function auditTab(_ctx: PageContext, el: HTMLElement): Promise<void> {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary' }, 'Older entries');
  const emails = new Map<number, string>();
  try {
    for (const u of (await get<UserList>('/api/v1/users')).users) emails.set(u.id, u.email);
  } catch {
    // Without the user list a target stays "user #2".
  }
  const entries: AuditEntry[] = [];
  const action = h('select', { 'aria-label': 'Action' }, h('option', { value: '' }, 'All actions'));
  const actor = h('select', { 'aria-label': 'User' }, h('option', { value: '' }, 'All users'));
  const options = (select: HTMLSelectElement, values: Array<[string, string]>) => {
    const keep = select.value;
    replace(
      select,
      select.options[0]!,
      values.map(([v, label]) => h('option', { value: v, selected: v === keep }, label)),
    );
  };
  const draw = () => {
    options(
      action,
      [...new Set(entries.map((e) => e.action))].sort().map((a) => [a, actionLabel(a)]),
    );
    options(
      actor,
      [...new Set(entries.map((e) => e.actorEmail ?? 'no user'))].sort().map((a) => [a, a]),
    );
    replace(
      tbody,
      entries
        .filter((e) => !action.value || e.action === action.value)
        .filter((e) => !actor.value || (e.actorEmail ?? 'no user') === actor.value)
        .map((e) =>
          h(
            'tr',
            { class: e.action.endsWith('_failed') ? 'has-error' : '' },
            h('td', { 'data-label': 'Time' }, fmtTime(e.at)),
            h('td', { 'data-label': 'Action' }, actionLabel(e.action)),
            clipped('By', e.actorEmail ?? 'no user'),
            clipped('Address', e.address ?? '–'),
            clipped('Target', targetLabel(e.target, emails)),
            clipped('Detail', detailLabel(e.detail)),
          ),
        ),
    );
  };
  for (const s of [action, actor]) s.addEventListener('change', draw);
  let before: number | null = null;
  const page = async () => {
    const res = await get<AuditPage>(`/api/v1/audit${qs({ limit: 50, before })}`);
    entries.push(...res.entries);
    before = res.nextBefore;
    more.hidden = before === null;
    draw();
  };
  more.addEventListener('click', () => void page());
  replace(
    el,
    h('h2', {}, 'Audit log'),
    h('div', { class: 'filters' }, action, actor),
    h(
      // Focusable so that a keyboard can scroll it when it is wider than the screen.
      'div',
      { class: 'table-wrap cards audit', tabindex: '0', role: 'region', 'aria-label': 'Audit log entries' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Time', 'Action', 'By', 'Address', 'Target', 'Detail'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        tbody,
      ),
    ),
    more,
  );
  await page();
}

/** The signed-in user's own account: the apps they may use and their password. */
async function accountTab(ctx: PageContext, el: HTMLElement): Promise<void> {
  const current = h('input', { type: 'password', name: 'current', required: true, autocomplete: 'current-password' });
  const next = h('input', {
    type: 'password',
    name: 'new',
    required: true,
    minlength: 10,
    autocomplete: 'new-password',
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'muted', role: 'status' });
  const form = h(
    'form',
    { class: 'card narrow' },
    h('h3', {}, 'Change your password'),
    field('Current password', current),
    field('New password (at least 10 characters)', next),
    error,
    done,
    h('button', { type: 'submit' }, 'Change password'),
  );
  onSubmit(form, error, async () => {
    done.textContent = '';
    if (next.value.length < 10) throw new Error('The new password needs at least 10 characters.');
    const body: PasswordChangeBody = { currentPassword: current.value, newPassword: next.value };
    await api('POST', '/api/v1/me/password', body);
    form.reset();
    done.textContent = 'Password changed. Your other sign-ins have ended.';
  });
  const mine = ctx.me.role === 'admin' ? ctx.apps : ctx.apps.filter((a) => ctx.me.apps.includes(a.id));
  replace(
    el,
    h('h2', {}, 'Your account'),
    h('p', {}, `Signed in as ${ctx.me.email} (${ctx.me.role}).`),
    h('h3', {}, 'Apps you may use'),
    mine.length
      ? h(
          'ul',
          {},
          mine.map((a) => h('li', {}, h('a', { href: `/overview?app=${encodeURIComponent(a.id)}` }, a.name))),
        )
      : h('p', { class: 'muted' }, 'None yet: ask an admin to give you access to an app.'),
    form,
  );
}

export async function settingsPage(ctx: PageContext): Promise<void> {
  const { main } = ctx;
  const admin = ctx.me.role === 'admin';
  const tabs = admin ? TABS : TABS.filter(([id]) => id === 'account');
  const tab = tabs.some(([id]) => id === ctx.rest) ? ctx.rest : tabs[0]![0];
  const body = h('div', { class: 'tab-body' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Settings')),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'Settings sections' },
      tabs.map(([id, label]) =>
        h('a', { href: `/settings/${id}${location.search}`, 'aria-current': id === tab ? 'page' : null }, label),
      ),
    ),
    body,
  );
  const draw = { keys: keysTab, apps: appsTab, users: usersTab, audit: auditTab, account: accountTab }[tab as 'keys'];
  try {
    await draw(ctx, body);
  } catch (err) {
    replace(body, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
  }
}
