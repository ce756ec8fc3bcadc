// Sessions: the most recent sessions of an app with filters (time, content, device, errors only), search by
// sessionId, and a detail view with every field and the raw payload as the SDK sent it.
import { ApiFailure, get, qs } from '../api.ts';
import type { PageContext } from '../context.ts';
import { copyButton, h, replace } from '../dom.ts';
import { fmtBps, fmtMs, fmtPct, fmtTime } from '../format.ts';
import { rangeFromParams, rangePicker, withParams } from '../time-range.ts';

export interface SessionRow {
  sessionId: string;
  timestamp: number;
  receivedAt: number;
  contentId: string | null;
  deviceModel: string | null;
  os: string | null;
  country: string | null;
  errorCount: number | null;
  errorCode: string | null;
  startupTimeMs: number | null;
  rebufferRatio: number | null;
  meanVideoFormatBitrate: number | null;
  sessionDurationMs: number;
}

async function detail(ctx: PageContext, sessionId: string): Promise<void> {
  const { main, app } = ctx;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    const s = await get<{ sessionId: string; receivedAt: number; payload: Record<string, unknown> }>(
      `/api/v1/sessions/${encodeURIComponent(sessionId)}${qs({ app })}`,
    );
    const raw = JSON.stringify(s.payload, null, 2);
    replace(
      main,
      h('p', {}, h('a', { href: `/sessions${qs({ app })}` }, '← All sessions')),
      h('h1', {}, 'Session ', h('code', {}, s.sessionId)),
      h('p', { class: 'muted' }, `Received ${fmtTime(s.receivedAt)}`),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Fields'),
        h(
          'dl',
          { class: 'fields' },
          Object.entries(s.payload).map(([k, v]) => [
            h('dt', {}, k),
            h('dd', {}, v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v)),
          ]),
        ),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Raw payload'),
        h(
          'div',
          { class: 'code' },
          h('pre', { tabindex: '0', 'aria-label': 'Raw payload' }, raw),
          copyButton(() => raw),
        ),
      ),
    );
  } catch (err) {
    replace(
      main,
      h(
        'p',
        { class: 'error', role: 'alert' },
        err instanceof ApiFailure && err.status === 404
          ? `No session “${sessionId}” in app ${app}.`
          : (err as Error).message,
      ),
      h('a', { href: '/sessions' }, 'Back to sessions'),
    );
  }
}

export async function sessionsPage(ctx: PageContext): Promise<void> {
  if (ctx.rest) return detail(ctx, ctx.rest);
  const { main, app, params } = ctx;
  const range = rangeFromParams(params, '24h');
  const q = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'sessionId',
    'aria-label': 'Search by sessionId',
    value: params.get('q') ?? '',
  });
  const content = h('input', {
    name: 'contentId',
    placeholder: 'content id',
    'aria-label': 'Content',
    value: params.get('contentId') ?? '',
  });
  const device = h('input', {
    name: 'device',
    placeholder: 'device model',
    'aria-label': 'Device',
    value: params.get('device') ?? '',
  });
  const errorsOnly = h('input', { type: 'checkbox', name: 'errorsOnly', checked: params.get('errorsOnly') === 'true' });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    q,
    content,
    device,
    h('label', { class: 'check' }, errorsOnly, ' errors only'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate(
      withParams({
        q: q.value.trim() || null,
        contentId: content.value.trim() || null,
        device: device.value.trim() || null,
        errorsOnly: errorsOnly.checked ? 'true' : null,
      }),
    );
  });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Sessions'),
      rangePicker(range, (p) => ctx.navigate(withParams(p))),
    ),
    form,
    list,
    more,
  );

  const tbody = h('tbody');
  let cursor: string | null = null;
  const page = async () => {
    const res = await get<{ sessions: SessionRow[]; nextCursor: string | null }>(
      // A search by sessionId looks at every session: the one being looked for may be older than the range.
      `/api/v1/sessions${qs({ app, from: params.get('q') ? null : range.from, to: params.get('q') ? null : range.to, q: params.get('q'), contentId: params.get('contentId'), device: params.get('device'), errorsOnly: params.get('errorsOnly') === 'true', limit: 50, cursor })}`,
    );
    for (const s of res.sessions)
      tbody.append(
        h(
          'tr',
          { class: (s.errorCount ?? 0) > 0 ? 'has-error' : '' },
          h('td', {}, h('a', { href: `/sessions/${encodeURIComponent(s.sessionId)}${qs({ app })}` }, s.sessionId)),
          h('td', {}, fmtTime(s.timestamp)),
          h('td', {}, s.contentId ?? '–'),
          h('td', {}, [s.deviceModel, s.os].filter(Boolean).join(' · ') || '–'),
          h('td', {}, s.country ?? '–'),
          h('td', { class: 'num' }, fmtMs(s.startupTimeMs)),
          h('td', { class: 'num' }, fmtPct(s.rebufferRatio === null ? null : s.rebufferRatio * 100)),
          h('td', { class: 'num' }, fmtBps(s.meanVideoFormatBitrate)),
          h(
            'td',
            { class: 'num' },
            (s.errorCount ?? 0) > 0 ? `${s.errorCount}${s.errorCode ? ` (${s.errorCode})` : ''}` : '0',
          ),
        ),
      );
    cursor = res.nextCursor;
    more.hidden = cursor === null;
    return res.sessions.length;
  };
  try {
    const n = await page();
    replace(
      list,
      n === 0
        ? h('p', { class: 'muted' }, 'No sessions match.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Session', 'Time', 'Content', 'Device', 'Country', 'Startup', 'Rebuffer', 'Bitrate', 'Errors'].map(
                  (c, i) => h('th', { scope: 'col', class: i >= 5 ? 'num' : '' }, c),
                ),
              ),
            ),
            tbody,
          ),
    );
  } catch (err) {
    replace(list, h('p', { class: 'error', role: 'alert' }, `Could not load sessions: ${(err as Error).message}`));
  }
  more.addEventListener(
    'click',
    () => void page().catch((err: Error) => list.append(h('p', { class: 'error', role: 'alert' }, err.message))),
  );
}
