// Sessions: the most recent sessions of an app with filters (time, content title or id, device, errors only),
// search by sessionId, a table that fits (short times, titles, an error badge, sortable, whole rows clickable;
// cards on a phone), and a detail view with readable fields and the raw payload as the SDK sent it.
import { ApiFailure, get, qs, type SessionDetail, type SessionPage, type SessionRow } from '../api.ts';
import type { PageContext } from '../context.ts';
import { copyButton, h, replace } from '../dom.ts';
import {
  columnFormatter,
  fmtBps,
  fmtCount,
  fmtDuration,
  fmtMs,
  fmtPct,
  fmtTime,
  fmtTimeShort,
  type Unit,
} from '../format.ts';
import { rangeFromParams, rangePicker, withParams } from '../time-range.ts';

/** A content as people know it: its title, the id in small text below (or the id alone). */
export function contentCell(title: string | null | undefined, id: string | null | undefined): HTMLElement {
  if (!title) return h('span', { class: 'content' }, id ?? '–');
  // The space keeps "Sintel content-01" apart wherever the cell is not a flex row (Breakdowns, filter chips).
  return h(
    'span',
    { class: 'content' },
    h('span', { class: 'title' }, title),
    id ? ' ' : null,
    id ? h('small', {}, id) : null,
  );
}

/** A field's value the way people read it, chosen by its name; anything else as it came. */
function readable(key: string, v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (key === 'timestamp' || key.endsWith('At')) return fmtTime(v);
    if (key === 'rebufferRatio') return fmtPct(v * 100);
    if (/bitrate/i.test(key)) return fmtBps(v);
    if (key.endsWith('Ms')) return v >= 60_000 ? fmtDuration(v) : fmtMs(v);
    return fmtCount(v);
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

async function detail(ctx: PageContext, sessionId: string): Promise<void> {
  const { main, app } = ctx;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    const s = await get<SessionDetail>(`/api/v1/sessions/${encodeURIComponent(sessionId)}${qs({ app })}`);
    const raw = JSON.stringify(s.payload, null, 2);
    const title = typeof s.payload.contentTitle === 'string' ? s.payload.contentTitle : null;
    replace(
      main,
      h('p', {}, h('a', { href: `/sessions${qs({ app })}` }, '← All sessions')),
      h('h1', {}, title ? `${title} · ` : 'Session ', h('code', {}, s.sessionId)),
      h('p', { class: 'muted' }, `Received ${fmtTime(s.receivedAt)}`),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Fields'),
        h(
          'dl',
          { class: 'fields' },
          Object.entries(s.payload).map(([k, v]) => [h('dt', {}, k), h('dd', {}, readable(k, v))]),
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

interface Column {
  key: keyof SessionRow | 'device';
  label: string;
  num?: boolean;
  cell(s: SessionRow, fmt?: (n: number | null | undefined) => string): HTMLElement | string;
  /** A figure in `unit`: the column is formatted in one unit, chosen from the rows shown. */
  figure?: { unit: Unit; of(s: SessionRow): number | null };
  /** The value rows sort by. */
  sortBy(s: SessionRow): number | string;
}

const COLUMNS: Column[] = [
  { key: 'timestamp', label: 'Time', cell: (s) => fmtTimeShort(s.timestamp), sortBy: (s) => s.timestamp },
  {
    key: 'contentTitle',
    label: 'Content',
    cell: (s) => contentCell(s.contentTitle, s.contentId),
    sortBy: (s) => (s.contentTitle ?? s.contentId ?? '').toLowerCase(),
  },
  {
    key: 'device',
    label: 'Device',
    cell: (s) => [s.deviceModel, s.os].filter(Boolean).join(' · ') || '–',
    sortBy: (s) => s.deviceModel ?? '',
  },
  { key: 'country', label: 'Country', cell: (s) => s.country ?? '–', sortBy: (s) => s.country ?? '' },
  {
    key: 'startupTimeMs',
    label: 'Startup',
    num: true,
    cell: (s, fmt = fmtMs) => fmt(s.startupTimeMs),
    figure: { unit: 'ms', of: (s) => s.startupTimeMs },
    sortBy: (s) => s.startupTimeMs ?? -1,
  },
  {
    key: 'rebufferRatio',
    label: 'Rebuffer',
    num: true,
    cell: (s) => fmtPct(s.rebufferRatio === null ? null : s.rebufferRatio * 100),
    sortBy: (s) => s.rebufferRatio ?? -1,
  },
  {
    key: 'meanVideoFormatBitrate',
    label: 'Bitrate',
    num: true,
    cell: (s, fmt = fmtBps) => fmt(s.meanVideoFormatBitrate),
    figure: { unit: 'bps', of: (s) => s.meanVideoFormatBitrate },
    sortBy: (s) => s.meanVideoFormatBitrate ?? -1,
  },
  {
    key: 'sessionDurationMs',
    label: 'Duration',
    num: true,
    cell: (s) => fmtDuration(s.sessionDurationMs),
    sortBy: (s) => s.sessionDurationMs,
  },
  {
    key: 'playTimeMs',
    label: 'Played',
    num: true,
    cell: (s) => fmtDuration(s.playTimeMs),
    sortBy: (s) => s.playTimeMs ?? -1,
  },
  {
    key: 'errorCount',
    label: 'Errors',
    num: true,
    cell: (s) =>
      (s.errorCount ?? 0) > 0
        ? h(
            'span',
            { class: 'badge bad', title: s.errorCode ?? '' },
            `${s.errorCount} error${s.errorCount === 1 ? '' : 's'}`,
          )
        : '',
    sortBy: (s) => s.errorCount ?? 0,
  },
];

export async function sessionsPage(ctx: PageContext): Promise<void> {
  if (ctx.rest) return detail(ctx, ctx.rest);
  const { main, app, params } = ctx;
  const range = rangeFromParams(params, '24h');
  const q = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'session id',
    'aria-label': 'Search by sessionId',
    value: params.get('q') ?? '',
  });
  const content = h('input', {
    type: 'search',
    name: 'content',
    placeholder: 'title or content id',
    'aria-label': 'Content title or id',
    value: params.get('content') ?? params.get('contentId') ?? '',
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
        content: content.value.trim() || null,
        contentId: null,
        device: device.value.trim() || null,
        errorsOnly: errorsOnly.checked ? 'true' : null,
      }),
    );
  });
  const list = h('div', { class: 'table-wrap sessions cards' }, h('p', { class: 'loading' }, 'Loading…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Sessions'),
      rangePicker(range, (p) => ctx.navigate(withParams(p))),
      h(
        'a',
        {
          class: 'button secondary export-csv',
          download: '',
          href: `/api/v1/sessions.csv${qs({ app, from: params.get('q') ? null : range.from, to: params.get('q') ? null : range.to, q: params.get('q'), contentId: params.get('contentId'), content: params.get('content'), device: params.get('device'), errorsOnly: params.get('errorsOnly') === 'true' })}`,
        },
        'Export CSV',
      ),
    ),
    form,
    list,
    more,
  );

  const rows: SessionRow[] = [];
  let sortKey: Column['key'] = 'timestamp';
  let descending = true;
  const tbody = h('tbody');
  const thead = h('thead');
  const href = (s: SessionRow) => `/sessions/${encodeURIComponent(s.sessionId)}${qs({ app })}`;
  const draw = () => {
    const col = COLUMNS.find((c) => c.key === sortKey)!;
    const sorted = [...rows].sort((a, b) => {
      const x = col.sortBy(a);
      const y = col.sortBy(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
    });
    replace(
      thead,
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Session'),
        COLUMNS.map((c) => {
          const b = h(
            'button',
            { type: 'button', class: 'sort' },
            c.label,
            sortKey === c.key ? (descending ? ' ▼' : ' ▲') : '',
          );
          b.addEventListener('click', () => {
            descending = sortKey === c.key ? !descending : c.key !== 'contentTitle' && c.key !== 'device';
            sortKey = c.key;
            draw();
          });
          return h(
            'th',
            {
              scope: 'col',
              class: c.num ? 'num' : '',
              'aria-sort': sortKey === c.key ? (descending ? 'descending' : 'ascending') : null,
            },
            b,
          );
        }),
      ),
    );
    const fmts = new Map(
      COLUMNS.filter((c) => c.figure).map((c) => [c.key, columnFormatter(c.figure!.unit, sorted.map(c.figure!.of))]),
    );
    replace(
      tbody,
      sorted.map((s) => {
        // The start of the id on screen (the row is the link's target anyway); the whole id for screen readers.
        const link = h(
          'a',
          { href: href(s), title: s.sessionId, 'aria-label': s.sessionId },
          h('code', {}, s.sessionId.slice(0, 8)),
        );
        const tr = h(
          'tr',
          { class: `clickable${(s.errorCount ?? 0) > 0 ? ' has-error' : ''}` },
          h('td', { 'data-label': 'Session' }, link),
          COLUMNS.map((c) => h('td', { class: c.num ? 'num' : '', 'data-label': c.label }, c.cell(s, fmts.get(c.key)))),
        );
        // The whole row opens the session (the link inside keeps keyboard and middle-click use).
        tr.addEventListener('click', (ev) => {
          if ((ev.target as Element).closest('a') || getSelection()?.toString()) return;
          link.click();
        });
        return tr;
      }),
    );
  };

  let cursor: string | null = null;
  const contentFilter = params.get('content');
  const page = async () => {
    const searching = params.get('q');
    const res = await get<SessionPage>(
      // A search by sessionId looks at every session: the one being looked for may be older than the range.
      `/api/v1/sessions${qs({ app, from: searching ? null : range.from, to: searching ? null : range.to, q: searching, contentId: params.get('contentId'), content: contentFilter, device: params.get('device'), errorsOnly: params.get('errorsOnly') === 'true', limit: 50, cursor })}`,
    );
    rows.push(...res.sessions);
    cursor = res.nextCursor;
    more.hidden = cursor === null;
    draw();
    return res.sessions.length;
  };
  try {
    const n = await page();
    replace(
      list,
      n === 0 ? h('p', { class: 'muted' }, 'No sessions match.') : h('table', { class: 'sortable' }, thead, tbody),
    );
  } catch (err) {
    replace(list, h('p', { class: 'error', role: 'alert' }, `Could not load sessions: ${(err as Error).message}`));
  }
  more.addEventListener(
    'click',
    () => void page().catch((err: Error) => list.append(h('p', { class: 'error', role: 'alert' }, err.message))),
  );
}
