// The dashboard's entry: decides between setup, login and the signed-in app, draws the shell (navigation,
// app picker, live status), and routes between pages with the History API (links work without reloads,
// and every page has its own URL that the server answers with index.html).
import '../styles.css';
import {
  api,
  ApiFailure,
  get,
  refreshSession,
  SignedOut,
  whenSignedOut,
  type AlertRuleList,
  type App,
  type AppList,
  type AuthStatus,
  type Me,
} from './api.ts';
import type { Page, PageContext } from './context.ts';
import { h, replace } from './dom.ts';
import { LiveSocket } from './live-socket.ts';
import { breakdownsPage } from './pages/breakdowns.ts';
import { livePage } from './pages/live.ts';
import { loginPage } from './pages/login.ts';
import { momentsPage } from './pages/moments.ts';
import { overviewPage } from './pages/overview.ts';
import { sessionsPage } from './pages/sessions.ts';
import { setupPage } from './pages/setup.ts';

const root = document.getElementById('app')!;

/** The dashboard's pages; `sub` pages also answer one more path segment (/sessions/<id>, /settings/<tab>). */
const PAGES: Array<{ path: string; title: string; page: Page; admin?: boolean; hidden?: boolean; sub?: boolean }> = [
  { path: '/overview', title: 'Overview', page: overviewPage },
  { path: '/live', title: 'Live', page: livePage, sub: true },
  { path: '/breakdowns', title: 'Breakdowns', page: breakdownsPage },
  { path: '/sessions', title: 'Sessions', page: sessionsPage, sub: true },
  { path: '/moments', title: 'Moments', page: momentsPage },
  // Loaded on first visit: rules, channels and history.
  { path: '/alerts', title: 'Alerts', page: (ctx) => import('./pages/alerts.ts').then((m) => m.alertsPage(ctx)) },
  // Loaded on first visit: the video library (and its upload client) stays out of the dashboard's first load.
  {
    path: '/videos',
    title: 'Videos',
    page: (ctx) => import('./pages/videos.ts').then((m) => m.videosPage(ctx)),
    sub: true,
  },
  // Loaded on first visit too: the admin screens stay out of the dashboard's first load.
  {
    path: '/settings',
    title: 'Settings',
    page: (ctx) => import('./pages/settings.ts').then((m) => m.settingsPage(ctx)),
    sub: true,
  },
  // Loaded on first visit (shared with Settings, which shows the same examples with a new key).
  {
    path: '/welcome',
    title: 'Get started',
    page: (ctx) => import('./pages/welcome.ts').then((m) => m.welcomePage(ctx)),
    hidden: true,
  },
  {
    path: '/connect',
    title: 'Connect',
    page: (ctx) => import('./pages/welcome.ts').then((m) => m.connectPage(ctx)),
    hidden: true,
  },
];

let state: { me: Me; apps: App[]; live: LiveSocket } | null = null;
let leave: Array<() => void> = [];
/** Set when the user followed a link: the new page's heading then takes the focus (screen readers announce it). */
let focusHeading = false;

export function navigate(to: string, replaceEntry = false): void {
  if (replaceEntry) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  void render();
}

function selectedApp(apps: App[], me: Me): string {
  const fromUrl = new URLSearchParams(location.search).get('app');
  const saved = localStorage.getItem('m3w.app');
  const visible = apps.filter((a) => me.role === 'admin' || me.apps.includes(a.id)).map((a) => a.id);
  for (const c of [fromUrl, saved]) if (c && visible.includes(c)) return c;
  return visible[0] ?? '';
}

async function loadSession(): Promise<{ me: Me; apps: App[] }> {
  const me = await get<Me>('/api/v1/me');
  let apps: App[];
  try {
    apps = (await get<AppList>('/api/v1/apps')).apps;
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 403) throw err;
    apps = me.apps.map((id) => ({ id, name: id, createdAt: 0 }));
  }
  return { me, apps };
}

function statusBadge(live: LiveSocket): HTMLElement {
  const el = h('span', { class: 'live-status', role: 'status' });
  live.onStatus((s) => {
    el.dataset.status = s;
    el.textContent = s === 'live' ? '● live' : s === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  });
  return el;
}

/** "1 alert firing" in the header while a rule of the app fires; links to the Alerts page. */
function firingBadge(app: string): HTMLElement {
  const el = h('a', { class: 'firing-badge', href: `/alerts?app=${encodeURIComponent(app)}`, hidden: true });
  if (!app) return el;
  get<AlertRuleList>(`/api/v1/alert-rules?app=${encodeURIComponent(app)}`)
    .then(({ rules }) => {
      const firing = rules.filter((r) => r.enabled && r.state === 'firing');
      if (firing.length === 0) return;
      el.hidden = false;
      el.textContent = `● ${firing.length} alert${firing.length > 1 ? 's' : ''} firing`;
      el.title = firing.map((r) => r.name).join(', ');
    })
    .catch(() => {});
  return el;
}

function shell(
  me: Me,
  apps: App[],
  app: string,
  live: LiveSocket,
  current: string,
): { main: HTMLElement; el: HTMLElement } {
  const main = h('main', { id: 'main', tabindex: '-1' });
  const picker = h(
    'select',
    { 'aria-label': 'App', class: 'app-picker' },
    apps.map((a) => h('option', { value: a.id, selected: a.id === app }, a.name)),
  );
  picker.addEventListener('change', () => {
    localStorage.setItem('m3w.app', picker.value);
    const u = new URL(location.href);
    u.searchParams.set('app', picker.value);
    navigate(u.pathname + u.search);
  });
  const links = PAGES.filter((p) => !p.hidden && (!p.admin || me.role === 'admin')).map((p) =>
    h('a', { href: p.path, 'aria-current': p.path === current ? 'page' : null }, p.title),
  );
  const logout = h('button', { type: 'button', class: 'link' }, 'Sign out');
  logout.addEventListener('click', async () => {
    await api('POST', '/api/v1/auth/logout', {}).catch(() => {});
    state?.live.close();
    state = null;
    navigate('/login');
  });
  // On a phone the pages and the account sit behind one Menu button, so the header is one line.
  const menu = h(
    'button',
    { type: 'button', class: 'menu-toggle secondary', 'aria-expanded': 'false', 'aria-controls': 'top-menu' },
    'Menu',
  );
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '/overview' }, 'm3w'),
    apps.length > 1 ? picker : null,
    statusBadge(live),
    firingBadge(app),
    menu,
    h(
      'div',
      { class: 'top-menu', id: 'top-menu' },
      h('nav', { 'aria-label': 'Pages' }, links),
      h(
        'div',
        { class: 'top-right' },
        h('a', { href: `/connect${location.search}`, class: 'connect-link' }, 'Connect'),
        h('span', { class: 'who' }, me.email),
        logout,
      ),
    ),
  );
  menu.addEventListener('click', () => {
    const open = menu.getAttribute('aria-expanded') !== 'true';
    menu.setAttribute('aria-expanded', String(open));
    header.classList.toggle('open', open);
  });
  const el = h('div', { class: 'shell' }, h('a', { class: 'skip', href: '#main' }, 'Skip to content'), header, main);
  return { main, el };
}

/** A path the dashboard draws (the server answers any other with this page and status 404). */
function isKnownPath(path: string): boolean {
  return path === '/' || path === '/setup' || path === '/login' || pageAt(path) !== undefined;
}

function pageAt(path: string): (typeof PAGES)[number] | undefined {
  return PAGES.find(
    (p) => path === p.path || (p.sub && /^\/[^/]+$/.test(path.slice(p.path.length)) && path.startsWith(`${p.path}/`)),
  );
}

/** "Page not found": what was asked for, and a way back. */
function notFound(home: string, homeLabel: string): HTMLElement[] {
  const asked = location.pathname + location.search;
  return [
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h(
      'section',
      { class: 'card not-found' },
      h('p', {}, 'There is no page at ', h('code', {}, asked.length > 80 ? `${asked.slice(0, 80)}…` : asked), '.'),
      h(
        'p',
        { class: 'muted' },
        'The link may be mistyped, or the page may have moved. Every page is in the navigation at the top.',
      ),
      h(
        'p',
        { class: 'actions' },
        h('a', { class: 'button', href: home }, homeLabel),
        ' ',
        // Opened straight from a link elsewhere (a new tab), there is nowhere to go back to.
        history.length > 1
          ? h('button', { type: 'button', class: 'secondary', onclick: () => history.back() }, 'Go back')
          : null,
      ),
    ),
  ];
}

function notFoundStandalone(): void {
  document.title = 'Page not found · m3w';
  const body = notFound('/login', 'Sign in');
  (body[1]!.querySelector('.muted') as HTMLElement).textContent =
    'The link may be mistyped, or the page may have moved.';
  replace(root, h('main', { id: 'main', class: 'standalone' }, ...body));
}

async function render(): Promise<void> {
  for (const fn of leave) fn();
  leave = [];
  const path = location.pathname.replace(/\/+$/, '') || '/';
  // A watch-party room stands alone (guests have no account): no shell, no sign-in step, loaded on demand.
  const roomMatch = /^\/rooms\/([A-Za-z0-9_-]{8,64})$/.exec(path);
  if (roomMatch) return (await import('./pages/room.ts')).roomPage(root, roomMatch[1]!);
  try {
    if (path === '/setup' || path === '/login' || !state) {
      const status = await get<AuthStatus>('/api/v1/auth/status');
      if (status.setupRequired) {
        if (path !== '/setup') history.replaceState(null, '', '/setup' + location.hash);
        document.title = 'Set up m3w';
        return setupPage(root, () => navigate('/', true));
      }
      if (!status.user) {
        // An unknown URL says so, even signed out (and offers the sign-in rather than sending there).
        if (!isKnownPath(path)) return notFoundStandalone();
        if (path !== '/login')
          history.replaceState(null, '', `/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        document.title = 'Sign in · m3w';
        return loginPage(root, (next) => navigate(next, true));
      }
      if (path === '/setup' || path === '/login') return navigate('/', true);
      const { me, apps } = await loadSession();
      // An expired access cookie refuses the live feed (4401): refresh the session, or go to the login page.
      const live = new LiveSocket(async () => {
        if (await refreshSession()) return true;
        signedOut();
        return false;
      });
      state = { me, apps, live };
    }
    const { me, apps, live } = state;
    const app = selectedApp(apps, me);
    if (path === '/') return navigate(`/overview${location.search}`, true);
    const entry = pageAt(path);
    if (!entry) {
      document.title = 'Page not found · m3w';
      const { main, el } = shell(me, apps, app, live, '');
      replace(root, el);
      replace(main, ...notFound(`/overview${app ? `?app=${encodeURIComponent(app)}` : ''}`, 'Go to the Overview'));
      if (focusHeading) {
        focusHeading = false;
        main.querySelector('h1')?.focus({ preventScroll: true });
      }
      return;
    }
    document.title = `${entry.title} · m3w`;
    const { main, el } = shell(me, apps, app, live, entry.path);
    replace(root, el);
    const ctx: PageContext = {
      main,
      me,
      apps,
      app,
      live,
      params: new URLSearchParams(location.search),
      rest: decodeURIComponent(path.slice(entry.path.length + 1)),
      navigate,
      async refreshApps() {
        if (!state) return;
        const fresh = await loadSession();
        state = { ...state, ...fresh };
        await render();
      },
      onLeave(fn) {
        leave.push(fn);
      },
    };
    await entry.page(ctx);
    if (focusHeading) {
      focusHeading = false;
      const heading = main.querySelector<HTMLElement>('h1');
      if (heading) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    }
  } catch (err) {
    if (err instanceof SignedOut) return;
    replace(
      root,
      h(
        'div',
        { class: 'card error', role: 'alert' },
        h('h2', {}, 'Something went wrong'),
        h('p', {}, (err as Error).message),
        h('button', { type: 'button', onclick: () => void render() }, 'Try again'),
      ),
    );
  }
}

function signedOut(): void {
  state?.live.close();
  state = null;
  if (location.pathname !== '/login')
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
}
whenSignedOut(signedOut);

// Same-origin links navigate in place; modified clicks (new tab) keep the browser's behaviour.
document.addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest?.('a');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
  // A download (Export CSV) is the browser's to fetch.
  if (a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || (url.hash && url.pathname === location.pathname)) return;
  ev.preventDefault();
  focusHeading = true;
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void render());
void render();
