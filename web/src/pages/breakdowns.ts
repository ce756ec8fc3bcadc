// Breakdowns: the QoE metrics of one app split by a dimension, in a sortable table with a sparkline of sessions
// per row, ranked by impact (sessions × how much worse than the app's average, as failed sessions above it),
// contents shown by title; a row opens the Overview filtered by that value.
import { get, qs, type QoeBreakdown, type QoeBreakdownRow, type QoeSeries, type SessionPage } from '../api.ts';
import { sparkline } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { columnFormatter, type Unit } from '../format.ts';
import { contentCell } from './sessions.ts';
import { rangeFromParams, rangePicker, withParams } from '../time-range.ts';

/** The QoE dimensions a person can break down by, with their names on screen. */
export const DIMENSIONS: Array<[string, string]> = [
  ['contentId', 'Content'],
  ['streamType', 'Stream type'],
  ['appVersion', 'App version'],
  ['deviceModel', 'Device'],
  ['os', 'OS'],
  ['country', 'Country'],
  ['cdn', 'CDN'],
  ['playerName', 'Player'],
];

const COLUMNS: Array<{ key: string; label: string; unit: Unit; hint?: string }> = [
  {
    key: 'impact',
    label: 'Impact',
    unit: 'count',
    hint: "Failed sessions beyond the app's average failure rate: how many fewer failures there would have been had this row done as well as the app as a whole",
  },
  { key: 'sessions', label: 'Sessions', unit: 'count' },
  { key: 'playback_failure_pct', label: 'Failures', unit: 'pct' },
  { key: 'startup_p50_ms', label: 'Startup p50', unit: 'ms' },
  { key: 'startup_p95_ms', label: 'Startup p95', unit: 'ms' },
  { key: 'rebuffer_pct', label: 'Rebuffering', unit: 'pct' },
  { key: 'bitrate_mean_bps', label: 'Bitrate', unit: 'bps' },
  { key: 'dropped_frames', label: 'Dropped frames', unit: 'count' },
];

/** A breakdown row, with the failed sessions above the app's rate it accounts for (computed here). */
type Row = QoeBreakdownRow & { impact?: number };
/** A row's column by name (the sort key comes from the URL). */
const field = (r: Row, key: string) => (r as Record<string, number | string | null | undefined>)[key];

export async function breakdownsPage(ctx: PageContext): Promise<void> {
  const { main, app, params } = ctx;
  const range = rangeFromParams(params, '24h');
  const dimension = params.get('dimension') ?? 'contentId';
  let sortKey = params.get('sort') ?? 'impact';
  let descending = params.get('order') !== 'asc';
  const select = h(
    'select',
    { 'aria-label': 'Dimension' },
    DIMENSIONS.map(([id, label]) => h('option', { value: id, selected: id === dimension }, label)),
  );
  select.addEventListener('change', () => ctx.navigate(withParams({ dimension: select.value })));
  const table = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Breakdowns'),
      select,
      rangePicker(range, (p) => ctx.navigate(withParams(p))),
      h(
        'a',
        {
          class: 'button secondary export-csv',
          download: '',
          href: `/api/v1/qoe/breakdown.csv${qs({ app, from: range.from, to: range.to, dimension })}`,
        },
        'Export CSV',
      ),
    ),
    // The Impact column's meaning said on the page (its header's tooltip does not reach a phone).
    h(
      'p',
      { class: 'muted small' },
      "Ranked by impact: failed sessions beyond the app's average failure rate, so the rows that cost the most " +
        'come first. A row opens the Overview for it.',
    ),
    table,
  );

  let rows: Row[];
  try {
    rows = (await get<QoeBreakdown>(`/api/v1/qoe/breakdown${qs({ app, from: range.from, to: range.to, dimension })}`))
      .rows;
  } catch (err) {
    replace(
      table,
      h('p', { class: 'error', role: 'alert' }, `Could not load the breakdown: ${(err as Error).message}`),
    );
    return;
  }
  // Impact: the app's failure rate over the whole range, and each row's failed sessions above it.
  let total = 0;
  let failed = 0;
  for (const r of rows) {
    const n = Number(r.sessions ?? 0);
    total += n;
    failed += (n * Number(r.playback_failure_pct ?? 0)) / 100;
  }
  const average = total > 0 ? failed / total : 0;
  for (const r of rows) {
    const n = Number(r.sessions ?? 0);
    r.impact = Math.max(0, Math.round(n * (Number(r.playback_failure_pct ?? 0) / 100 - average) * 10) / 10);
  }
  const titles = new Map<string, string>();
  const sparks = new Map<string, HTMLElement>();
  const draw = () => {
    const sorted = [...rows].sort((a, b) => {
      const x = field(a, sortKey) ?? -Infinity;
      const y = field(b, sortKey) ?? -Infinity;
      return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
    });
    const header = (key: string, label: string, num = true) => {
      const b = h(
        'button',
        { type: 'button', class: 'sort' },
        label,
        sortKey === key ? (descending ? ' ▼' : ' ▲') : '',
      );
      b.addEventListener('click', () => {
        descending = sortKey === key ? !descending : true;
        sortKey = key;
        draw();
      });
      return h(
        'th',
        {
          scope: 'col',
          class: num ? 'num' : '',
          'aria-sort': sortKey === key ? (descending ? 'descending' : 'ascending') : null,
        },
        b,
      );
    };
    // One unit per column (seconds or milliseconds, never both).
    const columnFormats = new Map(
      COLUMNS.map((c) => [
        c.key,
        columnFormatter(
          c.unit,
          rows.map((r) => field(r, c.key) as number | null),
        ),
      ]),
    );
    replace(
      table,
      rows.length === 0
        ? h('p', { class: 'muted' }, 'No sessions in this range.')
        : h(
            'table',
            { class: 'sortable' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                header('value', DIMENSIONS.find((d) => d[0] === dimension)?.[1] ?? dimension, false),
                COLUMNS.map((c) => {
                  const th = header(c.key, c.label);
                  if (c.hint) th.title = c.hint;
                  return th;
                }),
                h('th', { scope: 'col' }, 'Trend'),
              ),
            ),
            h(
              'tbody',
              {},
              sorted.map((r) => {
                const v = r.value ?? '';
                const link = h(
                  'a',
                  {
                    href: `/overview${qs({ app, range: range.preset === 'custom' ? 'custom' : range.preset, from: range.preset === 'custom' ? range.from : null, to: range.preset === 'custom' ? range.to : null, dim: dimension, value: v })}`,
                  },
                  dimension === 'contentId' && v ? contentCell(titles.get(v), v) : v || '(none)',
                );
                const tr = h(
                  'tr',
                  { class: 'clickable' },
                  h('td', {}, link),
                  COLUMNS.map((c) =>
                    h('td', { class: 'num' }, columnFormats.get(c.key)!(field(r, c.key) as number | null)),
                  ),
                  h('td', {}, sparks.get(v) ?? ''),
                );
                tr.addEventListener('click', (ev) => {
                  if ((ev.target as Element).closest('a')) return;
                  link.click();
                });
                return tr;
              }),
            ),
          ),
    );
  };
  draw();

  // Sparklines for the top rows only: one series request each.
  const top = [...rows].sort((a, b) => Number(b.sessions ?? 0) - Number(a.sessions ?? 0)).slice(0, 25);
  await Promise.all(
    top.map(async (r) => {
      const v = r.value ?? '';
      try {
        const s = await get<QoeSeries>(
          `/api/v1/qoe/timeseries${qs({ app, metric: 'sessions', from: range.from, to: range.to })}&filter[${encodeURIComponent(dimension)}]=${encodeURIComponent(v)}`,
        );
        sparks.set(v, sparkline(s.points, `${v} sessions`));
        if (dimension === 'contentId' && v) {
          // The title travels with the sessions: the newest one of this content names it.
          const one = await get<Pick<SessionPage, 'sessions'>>(
            `/api/v1/sessions${qs({ app, contentId: v, limit: 1 })}`,
          );
          const title = one.sessions[0]?.contentTitle;
          if (title) titles.set(v, title);
        }
      } catch {
        // A missing sparkline is not worth an error on the page.
      }
    }),
  );
  draw();
}
