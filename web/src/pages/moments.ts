// Moments: anomalies the engine found in the range, each with a chart of its metric around the moment.
import { get, qs, type Moment, type Point } from '../api.ts';
import { timeChart } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { fmtTime, type Unit } from '../format.ts';
import { rangeFromParams, rangePicker, withParams } from '../time-range.ts';

// Viewer moments are found on the streams' per-minute rollups; the others on the app's QoE rollups.
const VIEWER_METRICS = new Set(['concurrent_viewers']);

function unitOf(metric: string): Unit {
  if (metric.endsWith('_pct')) return 'pct';
  if (metric.endsWith('_ms')) return 'ms';
  if (metric.endsWith('_bps')) return 'bps';
  return 'count';
}

/** The moment's metric from 30 minutes before to 30 minutes after. */
async function around(m: Moment, app: string): Promise<Point[]> {
  const from = m.startedAt - 1_800_000;
  const to = m.endedAt + 1_800_000;
  if (VIEWER_METRICS.has(m.metric)) {
    const s = await get<{ points: Array<{ t: number; peak_concurrent: number }> }>(
      `/api/v1/stats/series${qs({ dimension: m.dimension || 'global', value: m.dimension === 'global' ? null : m.value, from, to, step: 60 })}`,
    );
    return s.points.map((p) => ({ t: p.t, value: p.peak_concurrent }));
  }
  const filter =
    m.dimension && m.dimension !== 'global'
      ? `&filter[${encodeURIComponent(m.dimension)}]=${encodeURIComponent(m.value)}`
      : '';
  return (
    await get<{ points: Point[] }>(
      `/api/v1/qoe/timeseries${qs({ app, metric: m.metric, from, to, step: 60 })}${filter}`,
    )
  ).points;
}

export async function momentsPage(ctx: PageContext): Promise<void> {
  const { main, app, params } = ctx;
  const range = rangeFromParams(params, '7d');
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
    moments = (await get<{ moments: Moment[] }>(`/api/v1/moments${qs({ from: range.from, to: range.to })}`)).moments;
  } catch (err) {
    replace(list, h('p', { class: 'error', role: 'alert' }, `Could not load moments: ${(err as Error).message}`));
    return;
  }
  if (moments.length === 0) {
    replace(list, h('p', { class: 'muted' }, 'No moments in this range: nothing unusual happened.'));
    return;
  }
  replace(list);
  for (const m of moments.slice(0, 30)) {
    const chart = timeChart(m.metric, unitOf(m.metric), { height: 140 });
    ctx.onLeave(() => chart.destroy());
    list.append(
      h(
        'article',
        { class: `card moment ${m.kind}` },
        h(
          'h2',
          {},
          `${m.kind === 'spike' ? '▲ Spike' : '▼ Drop'} in ${m.metric}`,
          m.dimension && m.dimension !== 'global' ? ` · ${m.dimension} ${m.value}` : '',
        ),
        h(
          'p',
          { class: 'muted' },
          `${fmtTime(m.startedAt)} – ${fmtTime(m.endedAt)} · z = ${m.zScore.toFixed(1)} (threshold ${m.threshold}) · baseline ${m.baseline.toFixed(1)}, peak ${m.peakValue.toFixed(1)}`,
        ),
        chart.el,
      ),
    );
    around(m, app)
      .then((points) => {
        chart.setData(points, { from: m.startedAt - 1_800_000, to: m.endedAt + 1_800_000 });
        chart.setMoments([{ from: m.startedAt, to: m.endedAt }]);
      })
      .catch(() => chart.el.append(h('p', { class: 'muted' }, 'Chart unavailable.')));
  }
  const stop = ctx.live.subscribe('moments', () => ctx.navigate(location.pathname + location.search));
  ctx.onLeave(stop);
}
