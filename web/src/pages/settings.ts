// Settings (admins): apps; API keys (created and rotated keys are shown once, with a copy button; revoke);
// users with their roles and app grants; the audit log.
import {
  api,
  get,
  qs,
  type ApiKeyList,
  type App,
  type AuditPage,
  type NewApiKey,
  type NewApiKeyBody,
  type NewAppBody,
  type NewUserBody,
  type UserList,
  type UserPatchBody,
} from '../api.ts';
import type { PageContext } from '../context.ts';
import { copyButton, h, replace } from '../dom.ts';
import { fmtTime } from '../format.ts';
import { field, onSubmit } from './form-helpers.ts';

const TABS: Array<[string, string]> = [
  ['keys', 'API keys'],
  ['apps', 'Apps'],
  ['users', 'Users'],
  ['audit', 'Audit log'],
];

function shownOnce(key: string): HTMLElement {
  return h(
    'div',
    { class: 'card shown-once', role: 'alert' },
    h('p', {}, 'Copy this key now — it will not be shown again:'),
    h(
      'div',
      { class: 'code' },
      h('pre', { tabindex: '0', 'data-testid': 'new-key' }, key),
      copyButton(() => key),
    ),
  );
}

async function keysTab(ctx: PageContext, el: HTMLElement): Promise<void> {
  const app = ctx.app;
  const notice = h('div');
  const table = h('div', { class: 'table-wrap' });
  const name = h('input', { name: 'name', required: true, placeholder: 'e.g. android-prod' });
  const ingest = h('input', { type: 'checkbox', name: 'ingest', checked: true });
  const read = h('input', { type: 'checkbox', name: 'read' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Key name', name),
    h('label', { class: 'check' }, ingest, ' ingest'),
    h('label', { class: 'check' }, read, ' read'),
    h('button', { type: 'submit' }, 'Create key'),
    error,
  );
  const draw = async () => {
    const { keys } = await get<ApiKeyList>(`/api/v1/apps/${encodeURIComponent(app)}/keys`);
    replace(
      table,
      keys.length === 0
        ? h('p', { class: 'muted' }, 'No keys yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Name', 'Prefix', 'Scopes', 'Created', 'Last used', 'Status', ''].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              keys.map((k) => {
                const active = k.revokedAt === null;
                const rotate = h('button', { type: 'button', class: 'secondary' }, 'Rotate');
                const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke');
                rotate.addEventListener('click', async () => {
                  const r = await api<NewApiKey>(
                    'POST',
                    `/api/v1/apps/${encodeURIComponent(app)}/keys/${encodeURIComponent(k.prefix)}/rotate`,
                    {},
                  );
                  replace(notice, shownOnce(r.key));
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
                  h('td', { class: 'actions' }, active ? [rotate, revoke] : null),
                );
              }),
            ),
          ),
    );
  };
  onSubmit(form, error, async () => {
    const scopes = (['ingest', 'read'] as const).filter((s) => (s === 'ingest' ? ingest : read).checked);
    const body: NewApiKeyBody = { name: name.value.trim(), scopes };
    const created = await api<NewApiKey>('POST', `/api/v1/apps/${encodeURIComponent(app)}/keys`, body);
    replace(notice, shownOnce(created.key));
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
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Id', 'Name', 'Created', ''].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h('tbody', {}, rows),
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
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Email', email),
    field('Password', password),
    field('Role', role),
    h('button', { type: 'submit' }, 'Add user'),
    error,
  );
  const table = h('div', { class: 'table-wrap' });
  const draw = async () => {
    const { users } = await get<UserList>('/api/v1/users');
    replace(
      table,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Email', 'Role', 'Apps', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)),
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
    );
  };
  onSubmit(form, error, async () => {
    const body: NewUserBody = {
      email: email.value,
      password: password.value,
      role: role.value === 'admin' ? 'admin' : 'member',
    };
    await api('POST', '/api/v1/users', body);
    form.reset();
    await draw();
  });
  replace(el, h('h2', {}, 'Users'), form, table);
  await draw();
}

async function auditTab(_ctx: PageContext, el: HTMLElement): Promise<void> {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary' }, 'Older entries');
  let before: number | null = null;
  const page = async () => {
    const res = await get<AuditPage>(`/api/v1/audit${qs({ limit: 50, before })}`);
    for (const e of res.entries)
      tbody.append(
        h(
          'tr',
          {},
          h('td', {}, fmtTime(e.at)),
          h('td', {}, e.action),
          h('td', {}, e.actorEmail ?? '–'),
          h('td', {}, e.address ?? '–'),
          h('td', {}, e.target ?? '–'),
          h('td', {}, e.detail ? JSON.stringify(e.detail) : ''),
        ),
      );
    before = res.nextBefore;
    more.hidden = before === null;
  };
  more.addEventListener('click', () => void page());
  replace(
    el,
    h('h2', {}, 'Audit log'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Time', 'Action', 'Actor', 'Address', 'Target', 'Detail'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        tbody,
      ),
    ),
    more,
  );
  await page();
}

export async function settingsPage(ctx: PageContext): Promise<void> {
  const { main } = ctx;
  if (ctx.me.role !== 'admin') {
    replace(
      main,
      h('section', { class: 'card' }, h('h1', {}, 'Settings'), h('p', {}, 'Only admins can change settings.')),
    );
    return;
  }
  const tab = TABS.some(([id]) => id === ctx.rest) ? ctx.rest : 'keys';
  const body = h('div', { class: 'tab-body' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Settings')),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'Settings sections' },
      TABS.map(([id, label]) =>
        h('a', { href: `/settings/${id}${location.search}`, 'aria-current': id === tab ? 'page' : null }, label),
      ),
    ),
    body,
  );
  const draw = { keys: keysTab, apps: appsTab, users: usersTab, audit: auditTab }[tab as 'keys'];
  try {
    await draw(ctx, body);
  } catch (err) {
    replace(body, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
  }
}
