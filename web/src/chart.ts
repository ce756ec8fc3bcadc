// uPlot charts the way the dashboard draws them: time on x (labels spaced to fit the width), the metric's unit
// on the y axis (one unit per axis, wide enough for its labels) and in the legend (the hover read-out, showing
// the latest value until hovered, with the sessions behind the point), colours from the page's light/dark theme,
// moments shaded on the plot, buckets with too few sessions faded, the previous period as a faint line, and a
// width that follows the container.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { axisLabels, fmtCount, formatters, type Unit } from './format.ts';

export interface Span {
  from: number;
  to: number;
}

/** Tick steps for things that come in whole numbers (sessions, viewers, frames): never "0.5 sessions". */
const WHOLE_STEPS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Puts the legend on the last point that has a value. */
function showLatest(u: uPlot): void {
  const ys = u.data[1] ?? [];
  for (let i = ys.length - 1; i >= 0; i--)
    if (ys[i] !== null && ys[i] !== undefined) {
      u.setLegend({ idx: i });
      return;
    }
}

function toAligned(points: ReadonlyArray<{ t: number; value: number | null }>): uPlot.AlignedData {
  return [points.map((p) => p.t / 1000), points.map((p) => p.value)];
}

/** Shades moments (anomalies) behind the series. */
function momentsPlugin(getSpans: () => Span[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const spans = getSpans();
        if (spans.length === 0) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = cssVar('--moment');
        for (const s of spans) {
          const x0 = u.valToPos(s.from / 1000, 'x', true);
          const x1 = Math.max(u.valToPos(s.to / 1000, 'x', true), x0 + 3 * devicePixelRatio);
          ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
        }
        ctx.restore();
      },
    },
  };
}

/** Indexes of values whose neighbours are both empty (a line cannot show them). */
function isolatedPoints(ys: ReadonlyArray<number | null | undefined>): number[] {
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++)
    if (ys[i] !== null && ys[i] !== undefined && ys[i - 1] == null && ys[i + 1] == null) out.push(i);
  return out;
}

/** Below this many sessions a bucket's percentage or percentile says little: it is drawn faded. */
export const MIN_SESSIONS = 5;

/** Fades the buckets with fewer than MIN_SESSIONS sessions (veils them with the card's colour). */
function sparsePlugin(getCounts: () => Map<number, number> | null, step: () => number): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const counts = getCounts();
        if (!counts) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.globalAlpha = 0.65;
        ctx.fillStyle = cssVar('--card');
        const xs = u.data[0];
        for (let i = 0; i < xs.length; i++) {
          const t = xs[i]!;
          const n = counts.get(t * 1000) ?? 0;
          if (n >= MIN_SESSIONS || u.data[1]![i] === null || u.data[1]![i] === undefined) continue;
          const half = (step() / 2) * 1000;
          const x0 = u.valToPos((t * 1000 - half) / 1000, 'x', true);
          const x1 = u.valToPos((t * 1000 + half) / 1000, 'x', true);
          ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
        }
        ctx.restore();
      },
    },
  };
}

export interface TimeChart {
  el: HTMLElement;
  /**
   * The series; `counts` (sessions per bucket start) adds the count to the read-out and fades thin buckets;
   * `previous` (the period before, shifted onto this one) is drawn as a faint line.
   */
  setData(
    points: ReadonlyArray<{ t: number; value: number | null }>,
    range?: Span,
    extra?: {
      counts?: ReadonlyArray<{ t: number; value: number | null }>;
      previous?: ReadonlyArray<{ value: number | null }>;
    },
  ): void;
  setMoments(spans: Span[]): void;
  destroy(): void;
}

export function timeChart(label: string, unit: Unit, opts: { height?: number } = {}): TimeChart {
  const el = document.createElement('div');
  el.className = 'chart';
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${label} over time`);
  const fmt = formatters[unit];
  let moments: Span[] = [];
  let counts: Map<number, number> | null = null;
  let step = 60;
  const stroke = cssVar('--accent');
  const axis = {
    stroke: cssVar('--muted'),
    grid: { stroke: cssVar('--grid'), width: 1 },
    ticks: { stroke: cssVar('--grid') },
  };
  const plot = new uPlot(
    {
      width: 300,
      height: opts.height ?? 160,
      series: [
        { value: (_u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleString()) },
        {
          label,
          stroke,
          width: 2,
          fill: `${stroke}22`,
          value: (u, v, _s, idx) => {
            if (v === null || v === undefined) return '–';
            const n = counts && idx !== null ? counts.get((u.data[0][idx] ?? 0) * 1000) : undefined;
            return n === undefined ? fmt(v) : `${fmt(v)} (${fmtCount(n)} session${n === 1 ? '' : 's'})`;
          },
          spanGaps: false,
          // A value between two empty buckets has no line to sit on (sparse data: a quiet app at 1 h): it is drawn
          // as a dot, so the chart is not blank beside a figure that says 15.8 %.
          points: { show: true, size: 5, filter: (u, sidx) => isolatedPoints(u.data[sidx] as Array<number | null>) },
        },
        {
          label: 'Previous period',
          stroke: cssVar('--muted'),
          width: 1,
          dash: [4, 4],
          value: (_u, v) => fmt(v),
          spanGaps: false,
          points: { show: false },
          show: false,
        },
      ],
      axes: [
        // Time labels at least 80 px apart, so that "12:45 PM" never runs into its neighbour.
        { ...axis, space: 80 },
        {
          ...axis,
          // Wide enough for the longest label ("12.5 Mbit/s" is not cut to "00 Mbit/s").
          size: (_u, values) => (values?.length ? Math.max(...values.map((v) => v.length)) * 7.5 + 18 : 40),
          values: (_u, ticks) => axisLabels(unit, ticks),
          ...(unit === 'count' ? { incrs: WHOLE_STEPS } : {}),
        },
      ],
      scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max && max > 0 ? max * 1.1 : 1] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      plugins: [
        momentsPlugin(() => moments),
        sparsePlugin(
          () => counts,
          () => step,
        ),
      ],
      hooks: {
        // Away from the plot the read-out shows the latest value, not an empty "–".
        setCursor: [
          (u: uPlot) => {
            if (u.cursor.idx === null || u.cursor.idx === undefined) showLatest(u);
          },
        ],
      },
    },
    [[], [], []],
    el,
  );
  const resize = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && w !== plot.width) plot.setSize({ width: w, height: plot.height });
  });
  resize.observe(el);
  return {
    el,
    setData(points, range, extra = {}) {
      counts = extra.counts ? new Map(extra.counts.map((p) => [p.t, p.value ?? 0])) : null;
      if (points.length > 1) step = (points[1]!.t - points[0]!.t) / 1000;
      // A previous period without any data is left out rather than drawn as a flat line at zero.
      const previous = extra.previous?.some((p) => p.value) ? extra.previous : undefined;
      const aligned = toAligned(points);
      plot.setData(
        [aligned[0], aligned[1], points.map((_, i) => previous?.[i]?.value ?? null)] as uPlot.AlignedData,
        !range,
      );
      if (plot.series[2]!.show !== Boolean(previous)) plot.setSeries(2, { show: Boolean(previous) });
      if (range) plot.setScale('x', { min: range.from / 1000, max: range.to / 1000 });
      showLatest(plot);
    },
    setMoments(spans) {
      moments = spans;
      // Said in the DOM as well as painted, for assistive tech's description and for tests.
      el.dataset.moments = String(spans.length);
      plot.redraw(false);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

/** A small line without axes or legend, for table rows. */
export function sparkline(points: ReadonlyArray<{ t: number; value: number | null }>, label: string): HTMLElement {
  const el = document.createElement('span');
  el.className = 'spark';
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${label} trend`);
  new uPlot(
    {
      width: 120,
      height: 28,
      series: [{}, { stroke: cssVar('--accent'), width: 1.5, points: { show: false } }],
      axes: [{ show: false }, { show: false }],
      legend: { show: false },
      cursor: { show: false },
      padding: [2, 2, 2, 2],
      scales: { x: { time: false } },
    },
    toAligned(points),
    el,
  );
  return el;
}
