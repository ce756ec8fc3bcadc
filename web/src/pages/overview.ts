// Overview of one app's playback quality: a tile per metric with its change against the previous period of the
// same length, a uPlot series under each, the moments of the range shaded on the charts and listed in a strip,
// and live mode on short ranges (refetched when the live feed says the app's data changed).
import {
  ApiFailure,
  get,
  qs,
  type Moment,
  type MomentList,
  type Point,
  type QoeSeries,
  type SessionPage,
  type QoeSummary,
  type QoeSummaryPeriod,
  type AlertRule,
  type AlertRuleList,
} from '../api.ts';
import { timeChart, type TimeChart } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { formatters } from '../format.ts';
import { METRICS, type Metric } from '../metrics.ts';
import { forApp, momentChip, momentTitle } from '../moment-text.ts';
import { DIMENSIONS } from './breakdowns.ts';
import { contentCell } from './sessions.ts';
import { isShortRange, rangeFromParams, rangePicker, withParams, type TimeRange } from '../time-range.ts';

export { METRICS };

const REFETCH_GAP_MS = 10_000;

/** "Content: Big Buck Bunny content-03 ×": the filter in words, a content by its title (looked up), and its removal. */
function filterChip(app: string, [dimension, value]: [string, string]): HTMLElement {
  const shown = h('span', {}, value || '(none)');
  if (dimension === 'contentId' && value)
    void get<Pick<SessionPage, 'sessions'>>(`/api/v1/sessions${qs({ app, contentId: value, limit: 1 })}`)
      .then((r) => {
        const title = r.sessions[0]?.contentTitle;
        if (title) replace(shown, contentCell(title, value));
      })
      .catch(() => {});
  return h(
    'span',
    { class: 'chip' },
    `${DIMENSIONS.find((d) => d[0] === dimension)?.[1] ?? dimension}: `,
    shown,
    ' ',
    h('a', { href: withParams({ dim: null, value: null }), 'aria-label': 'Remove filter' }, '×'),
  );
}

function seriesUrl(app: string, metric: string, from: number, to: number, filter: [string, string] | null): string {
  // No step: the server picks minutes or hours to fit the range.
  return `/api/v1/qoe/timeseries${qs({ app, metric, from, to })}${filter ? `&filter[${encodeURIComponent(filter[0])}]=${encodeURIComponent(filter[1])}` : ''}`;
}

async function allSeries(
  app: string,
  from: number,
  to: number,
  filter: [string, string] | null,
): Promise<Map<string, Point[]>> {
  const list = await Promise.all(METRICS.map((m) => get<QoeSeries>(seriesUrl(app, m.id, from, to, filter))));
  return new Map(list.map((s, i) => [METRICS[i]!.id, s.points]));
}

/** A period's figure for a tile: the room metrics (chat_*) have none in the QoE summary. */
const figureOf = (p: QoeSummaryPeriod, id: string): number | null =>
  (p as unknown as Partial<Record<string, number | null>>)[id] ?? null;

function summaryUrl(app: string, from: number, to: number, filter: [string, string] | null): string {
  return `/api/v1/qoe/summary${qs({ app, from, to })}${filter ? `&filter[${encodeURIComponent(filter[0])}]=${encodeURIComponent(filter[1])}` : ''}`;
}

function change(now: number | null, before: number | null, m: Metric): HTMLElement {
  if (now === null || before === null || before === 0) return h('span', { class: 'delta muted' }, 'no previous data');
  const pct = ((now - before) / Math.abs(before)) * 100;
  const worse = m.higherIsWorse ? pct > 0 : pct < 0;
  const cls = Math.abs(pct) < 0.5 ? 'flat' : worse ? 'bad' : 'good';
  return h('span', { class: `delta ${cls}` }, `${pct >= 0 ? '▲' : '▼'} ${Math.abs(pct).toFixed(1)} % vs previous`);
}

/** One line however many moments there are: the latest as a chip, the rest behind "9 moments ›". */
function momentStrip(moments: Moment[], app: string): HTMLElement | HTMLElement[] {
  if (moments.length === 0) return h('span', { class: 'muted' }, 'No moments in this range.');
  const latest = moments.reduce((a, b) => (b.startedAt > a.startedAt ? b : a));
  return [
    h(
      'a',
      {
        class: `moment-chip ${latest.kind}`,
        title: momentTitle(latest),
        href: `/moments${qs({ app, range: 'custom', from: latest.startedAt - 1_800_000, to: Math.min(latest.endedAt + 1_800_000, Date.now()) })}`,
      },
      momentChip(latest),
    ),
    moments.length > 1
      ? h('a', { class: 'moment-count', href: `/moments${qs({ app })}` }, `${moments.length} moments ›`)
      : null,
  ].filter((x): x is HTMLAnchorElement => x !== null);
}

export async function overviewPage(ctx: PageContext): Promise<void> {
  const { main, app, params } = ctx;
  if (!app) {
    replace(
      main,
      h(
        'section',
        { class: 'card' },
        h('h1', {}, 'No apps yet'),
        h(
          'p',
          {},
          ctx.me.role === 'admin' ? 'Create an app in Settings.' : 'Ask an admin to give you access to an app.',
        ),
      ),
    );
    return;
  }
  // A brand-new app has nothing to chart: show how to send data instead.
  const probe = await get<SessionPage>(`/api/v1/sessions${qs({ app, limit: 1 })}`);
  if (probe.sessions.length === 0 && !params.has('range')) {
    ctx.navigate(`/welcome?app=${encodeURIComponent(app)}`);
    return;
  }
  const dim = params.get('dim');
  const value = params.get('value');
  const filter: [string, string] | null = dim && value !== null ? [dim, value] : null;
  let range = rangeFromParams(params, '24h');

  const tiles = h('div', { class: 'tiles' });
  const strip = h('div', { class: 'moments-strip', role: 'region', 'aria-label': 'Moments in this range' });
  const status = h('p', { class: 'loading', role: 'status' }, 'Loading…');
  const charts = new Map<
    string,
    { chart: TimeChart; valueEl: HTMLElement; deltaEl: HTMLElement; alertEl: HTMLElement }
  >();
  for (const m of METRICS) {
    const chart = timeChart(m.label, m.unit);
    const valueEl = h('div', { class: 'tile-value', 'data-metric': m.id }, '…');
    const deltaEl = h('div', { class: 'tile-delta' });
    const alertEl = h('a', { class: 'firing-badge tile-alert', href: `/alerts${qs({ app })}`, hidden: true });
    tiles.append(
      h(
        'section',
        { class: 'tile card', 'aria-label': m.label },
        h('h2', {}, m.label),
        valueEl,
        deltaEl,
        alertEl,
        chart.el,
      ),
    );
    charts.set(m.id, { chart, valueEl, deltaEl, alertEl });
  }
  ctx.onLeave(() => {
    for (const c of charts.values()) c.chart.destroy();
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Overview'),
      filter ? filterChip(app, filter) : null,
      rangePicker(range, (p) => ctx.navigate(withParams(p))),
    ),
    status,
    strip,
    tiles,
  );

  const load = async (r: TimeRange) => {
    const span = r.to - r.from;
    try {
      const [current, previous, summary, moments, rules] = await Promise.all([
        allSeries(app, r.from, r.to, filter),
        allSeries(app, r.from - span, r.from, filter),
        get<QoeSummary>(summaryUrl(app, r.from, r.to, filter)),
        get<MomentList>(`/api/v1/moments${qs({ from: r.from, to: r.to })}`).then((x) => forApp(x.moments, app)),
        get<AlertRuleList>(`/api/v1/alert-rules${qs({ app })}`).then(
          (x) => x.rules,
          () => [] as AlertRule[],
        ),
      ]);
      // A firing alert on a tile's metric (for this view's filter) is named on that tile.
      const firing = rules.filter(
        (x) =>
          x.enabled &&
          x.state === 'firing' &&
          JSON.stringify(x.filter ?? null) === JSON.stringify(filter ? { [filter[0]]: filter[1] } : null),
      );
      for (const m of METRICS) {
        const c = charts.get(m.id)!;
        // Rates and percentiles carry the sessions behind each point (thin buckets fade); every chart carries
        // the previous period as a faint line.
        const summed = m.id === 'sessions' || m.id === 'dropped_frames';
        c.chart.setData(current.get(m.id)!, r, {
          counts: summed ? undefined : current.get('sessions'),
          previous: previous.get(m.id),
        });
        // Each chart shades the moments of its own metric (startup moments are found on p95).
        c.chart.setMoments(moments.filter((x) => x.metric === m.id).map((x) => ({ from: x.startedAt, to: x.endedAt })));
        // The tiles are the exact figures of the period, not an average of the chart's buckets.
        const now = figureOf(summary.current, m.id);
        const before = figureOf(summary.previous, m.id);
        c.valueEl.textContent = formatters[m.unit](now);
        const alerting = firing.filter((x) => x.metric === m.id);
        c.alertEl.hidden = alerting.length === 0;
        c.alertEl.textContent = alerting.length ? `● firing: ${alerting.map((x) => x.name).join(', ')}` : '';
        replace(c.deltaEl, change(now, before, m));
      }
      replace(strip, momentStrip(moments, app));
      status.textContent = isShortRange(r)
        ? 'Live: updates as sessions arrive.'
        : `Updated ${new Date().toLocaleTimeString()}`;
      status.className = 'muted';
    } catch (err) {
      status.className = 'error';
      status.textContent =
        err instanceof ApiFailure
          ? `Could not load the overview: ${err.message}`
          : `Could not reach m3w: ${(err as Error).message}`;
    }
  };
  await load(range);

  if (isShortRange(range)) {
    // A change is drawn at once after a quiet spell, then at most every REFETCH_GAP_MS: a load is ~17 reads, and
    // with sessions arriving all the time one per live tick would spend a user's whole rate limit (600 a minute).
    let pending = false;
    let lastLiveLoad = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The first message is the topic's state as we subscribe: what the page has just loaded. Counted as a change,
    // it would start the gap, and a real change within 10 s of opening the page would wait for its end.
    let initial = true;
    const stop = ctx.live.subscribe(`overview:${app}`, () => {
      if (initial) {
        initial = false;
        return;
      }
      if (pending) return;
      pending = true;
      timer = setTimeout(
        () => {
          range = rangeFromParams(params, '24h');
          lastLiveLoad = Date.now();
          void load(range).finally(() => (pending = false));
        },
        Math.max(0, lastLiveLoad + REFETCH_GAP_MS - Date.now()),
      );
    });
    ctx.onLeave(() => {
      stop();
      clearTimeout(timer);
    });
  }
}
