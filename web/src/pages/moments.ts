// Moments: anomalies the engine found in the range for the selected app, each written for people (what rose or
// fell, from what to what, when), with a chart of its metric around the moment that ends at now, and links to
// the sessions that failed in that window and to its breakdown.
import { get, qs, type Moment, type MomentList, type Point, type QoeSeries, type StreamSeries } from '../api.ts';
import { timeChart } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { fmtCount } from '../format.ts';
import { metricInfo } from '../metrics.ts';
import { breakdownHref, failedSessionsHref, forApp, momentTitle, momentWhen } from '../moment-text.ts';
import { rangeFromParams, rangePicker, withParams } from '../time-range.ts';

// Viewer moments are found on the streams' per-minute rollups; the others on the app's QoE rollups.
const VIEWER_METRICS = new Set(['concurrent_viewers']);
const MARGIN = 1_800_000;

/** The chart's window: 30 minutes either side of the moment, but never past now. */
function windowOf(m: Moment): { from: number; to: number } {
  return { from: m.startedAt - MARGIN, to: Math.min(m.endedAt + MARGIN, Date.now()) };
}

async function around(m: Moment, app: string): Promise<Point[]> {
  const { from, to } = windowOf(m);
  if (VIEWER_METRICS.has(m.metric)) {
    const s = await get<StreamSeries>(
      `/api/v1/stats/series${qs({ dimension: m.dimension || 'global', value: m.dimension === 'global' ? null : m.value, from, to, step: 60 })}`,
    );
    return s.points.map((p) => ({ t: p.t, value: p.peak_concurrent }));
  }
  const filter =
    m.dimension && m.dimension !== 'global'
      ? `&filter[${encodeURIComponent(m.dimension)}]=${encodeURIComponent(m.value)}`
      : '';
  return (await get<QoeSeries>(`/api/v1/qoe/timeseries${qs({ app, metric: m.metric, from, to, step: 60 })}${filter}`))
    .points;
}

/** Why an empty page may still hide a bad hour: the engine's minimum-traffic rule, said plainly. */
function emptyState(app: string): HTMLElement {
  return h(
    'div',
    { class: 'card empty' },
    h('p', {}, 'No moments in this range.'),
    h(
      'p',
      { class: 'muted' },
      'A moment is a metric far from its usual level for a few minutes (a change that lasts is one moment). ' +
        'Judging needs enough sessions: 20 a minute by default (moments.minVolume). A quieter app is judged over ' +
        '5, 15 or 60-minute buckets, so its moments appear when a bucket ends; below 20 sessions an hour, none do.',
    ),
    h('p', {}, h('a', { href: `/sessions${qs({ app, errorsOnly: true })}` }, 'See the failed sessions of this range')),
  );
}

export async function momentsPage(ctx: PageContext): Promise<void> {
  const { main, app, params } = ctx;
  const range = rangeFromParams(params);
  const list = h('div', { class: 'moments' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Moments'),
      rangePicker(range, (p) => ctx.navigate(withParams(p))),
    ),
    list,
  );
  let moments: Moment[];
  try {
    moments = forApp((await get<MomentList>(`/api/v1/moments${qs({ from: range.from, to: range.to })}`)).moments, app);
  } catch (err) {
    replace(list, h('p', { class: 'error', role: 'alert' }, `Could not load moments: ${(err as Error).message}`));
    return;
  }
  if (moments.length === 0) {
    replace(list, emptyState(app));
    return;
  }
  replace(
    list,
    moments.length > 30 ? h('p', { class: 'muted' }, `The 30 latest of ${fmtCount(moments.length)} moments.`) : null,
  );
  for (const m of moments.slice(0, 30)) {
    const info = metricInfo(m.metric);
    const chart = timeChart(info.label, info.unit, { height: 140 });
    ctx.onLeave(() => chart.destroy());
    const isViewers = VIEWER_METRICS.has(m.metric);
    list.append(
      h(
        'article',
        { class: `card moment ${m.kind}`, 'data-moment': m.id },
        h('h2', {}, `${m.kind === 'spike' ? '▲' : '▼'} ${momentTitle(m)}`),
        h('p', { class: 'muted' }, momentWhen(m)),
        isViewers
          ? null
          : h(
              'p',
              { class: 'moment-links' },
              h('a', { href: failedSessionsHref(m, app) }, 'Failed sessions'),
              h('a', { href: breakdownHref(m, app) }, 'Breakdown of this window'),
            ),
        chart.el,
      ),
    );
    around(m, app)
      .then((points) => {
        chart.setData(points, windowOf(m));
        chart.setMoments([{ from: m.startedAt, to: m.endedAt }]);
      })
      .catch(() => chart.el.append(h('p', { class: 'muted' }, 'Chart unavailable.')));
  }
  const stop = ctx.live.subscribe('moments', () => ctx.navigate(location.pathname + location.search));
  ctx.onLeave(stop);
}
