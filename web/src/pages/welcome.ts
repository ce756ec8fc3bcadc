// The empty state and the Connect panel: everything needed to send data — the server's reachable URLs (LAN
// addresses, so a phone on the same Wi-Fi works), an ingest key made in place, a curl line, the Android SDK
// settings and the media-server webhook. The empty state turns into the Overview by itself when the first
// session arrives; the Connect panel (/connect, linked from the header and shown with every new key) stays.
import { api, get, type NewApiKey, type NewApiKeyBody, type OverviewUpdate, type ServerInfo } from '../api.ts';
import type { PageContext } from '../context.ts';
import { copyButton, h, replace } from '../dom.ts';

function codeBlock(text: string, label: string): HTMLElement {
  return h(
    'div',
    { class: 'code' },
    h('pre', { tabindex: '0', 'aria-label': label }, text),
    copyButton(() => text),
  );
}

/** The address players should use: a LAN one when there is one, so a phone on the same Wi-Fi reaches it. */
export function serverBase(info: ServerInfo): string {
  return info.urls.find((u) => !/127\.0\.0\.1|localhost|\[::1\]/.test(u)) ?? info.urls[0] ?? location.origin;
}

/** The endpoint, curl line, Android SDK settings, browser SDK snippet and webhook URL, filled in with `key`. */
export function connectExamples(info: ServerInfo, key: string): HTMLElement[] {
  const base = serverBase(info);
  const session = JSON.stringify({
    sessionId: 'test-1',
    timestamp: Date.now(),
    sessionStartDateIso: '2025-01-01T00:00:00Z',
    sessionDurationMs: 60000,
    startupTimeMs: 900,
  });
  return [
    h('h3', {}, 'Session endpoint'),
    codeBlock(`${base}/v1/sessions`, 'session endpoint'),
    h('h3', {}, 'Send a test session'),
    codeBlock(
      `curl -X POST ${base}/v1/sessions \\\n  -H 'Content-Type: application/json' \\\n  -H 'X-API-Key: ${key}' \\\n  -d '${session}'`,
      'curl example',
    ),
    h('h3', {}, 'Android (Media3Watch SDK)'),
    codeBlock(
      `Media3Watch.init(\n  context,\n  Media3WatchConfig(\n    endpoint = "${base}/v1/sessions",\n    apiKey = "${key}",\n  ),\n)`,
      'Android SDK configuration',
    ),
    h('h3', {}, 'Web player (any <video>, with or without hls.js)'),
    codeBlock(
      `<script src="${base}/sdk/m3w-web.js"></script>\n<script>\n  M3W.attach(document.querySelector('video'), {\n    auth: { apiKey: '${key}' },\n    endpoint: '${base}/v1/sessions',\n    contentId: 'episode-42', contentTitle: 'Episode 42',\n    // hls,  // your hls.js instance, if any: bitrates and fatal errors\n  });\n</script>`,
      'browser SDK snippet',
    ),
    h(
      'p',
      { class: 'muted small' },
      'A key used in web pages is public: give it only the ingest scope and list your site under its browser origins (Settings → API keys).',
    ),
    h('h3', {}, 'Media server webhook (Flussonic, Wowza, nginx-rtmp)'),
    codeBlock(`${info.webhookUrl}?key=${key}`, 'webhook URL'),
  ];
}

/** How to connect, at any time (the empty state without its waiting and its redirect). */
export const connectPage = (ctx: PageContext) => welcomePage(ctx, true);

export async function welcomePage(ctx: PageContext, connect = false): Promise<void> {
  const { main, app, live } = ctx;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  const info = await get<ServerInfo>('/api/v1/server-info');
  let key = 'YOUR_INGEST_KEY';

  const examples = h('div', { class: 'examples' });
  const drawExamples = () => replace(examples, connectExamples(info, key));

  const keyArea = h('div', { class: 'key-area' });
  const makeKey = h('button', { type: 'button' }, 'Create an ingest key');
  const keyError = h('p', { class: 'error', role: 'alert' });
  makeKey.addEventListener('click', async () => {
    makeKey.disabled = true;
    try {
      const body: NewApiKeyBody = { name: 'first key', scopes: ['ingest'] };
      const created = await api<NewApiKey>('POST', `/api/v1/apps/${encodeURIComponent(app)}/keys`, body);
      key = created.key;
      replace(keyArea, h('p', {}, 'Your ingest key — shown once, copy it now:'), codeBlock(key, 'new ingest key'));
      drawExamples();
    } catch (err) {
      keyError.textContent = (err as Error).message;
      makeKey.disabled = false;
    }
  });
  replace(
    keyArea,
    ctx.me.role === 'admin' ? makeKey : h('p', {}, 'Ask an admin for an ingest key for this app.'),
    keyError,
  );
  drawExamples();

  replace(
    main,
    h(
      'section',
      { class: 'card welcome' },
      h('h1', {}, connect ? 'Connect' : 'No data yet'),
      h(
        'p',
        {},
        `m3w is running. Point your players and media servers at one of these addresses${app ? ` to fill app “${app}”` : ''}:`,
      ),
      h(
        'ul',
        { class: 'urls' },
        info.urls.map((u) => h('li', {}, h('code', {}, u))),
      ),
      keyArea,
      examples,
      connect
        ? null
        : h('p', { class: 'muted waiting' }, 'Waiting for the first session… this page updates by itself.'),
      h('p', {}, 'Only a media server sends here? Its viewers show on ', h('a', { href: '/live' }, 'Live'), '.'),
    ),
  );

  if (app && !connect) {
    const stop = live.subscribe(`overview:${app}`, (data) => {
      if ((data as OverviewUpdate).sessions > 0) ctx.navigate(`/overview?app=${encodeURIComponent(app)}`);
    });
    ctx.onLeave(stop);
  }
}
