// uPlot charts the way the dashboard draws them: time on x, the metric's unit on the y axis and in the legend
// (which is the hover read-out), colours from the page's light/dark theme, moments shaded on the plot, and a
// width that follows the container.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatters, type Unit } from './format.ts';

export interface Span {
  from: number;
  to: number;
}

/** Tick steps for things that come in whole numbers (sessions, viewers, frames): never "0.5 sessions". */
const WHOLE_STEPS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
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

export interface TimeChart {
  el: HTMLElement;
  setData(points: ReadonlyArray<{ t: number; value: number | null }>, range?: Span): void;
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
          value: (_u, v) => fmt(v),
          spanGaps: false,
          points: { show: false },
        },
      ],
      axes: [
        axis,
        {
          ...axis,
          size: 72,
          values: (_u, ticks) => ticks.map((v) => fmt(v)),
          ...(unit === 'count' ? { incrs: WHOLE_STEPS } : {}),
        },
      ],
      scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max && max > 0 ? max * 1.1 : 1] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      plugins: [momentsPlugin(() => moments)],
    },
    [[], []],
    el,
  );
  const resize = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && w !== plot.width) plot.setSize({ width: w, height: plot.height });
  });
  resize.observe(el);
  return {
    el,
    setData(points, range) {
      plot.setData(toAligned(points), !range);
      if (range) plot.setScale('x', { min: range.from / 1000, max: range.to / 1000 });
    },
    setMoments(spans) {
      moments = spans;
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
