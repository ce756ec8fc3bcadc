// Live: viewers right now (a big number), viewers and bandwidth over the last hour, and who is watching by
// channel, server, country, protocol and device, all pushed over the live feed every ~1.5 s.
import { get, qs, type ActiveCounts } from '../api.ts';
import { timeChart } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { fmtCount } from '../format.ts';

interface StreamPoint {
  t: number;
  peak_concurrent: number;
  bandwidth_bps: number;
}

const GROUPS: Array<[Exclude<keyof ActiveCounts, 'total'>, string]> = [
  ['by_channel', 'Channel'],
  ['by_server', 'Server'],
  ['by_country', 'Country'],
  ['by_protocol', 'Protocol'],
  ['by_device', 'Device'],
];

function breakdownTable(title: string, counts: Record<string, number> | undefined): HTMLElement {
  const rows = Object.entries(counts ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10);
  const max = rows[0]?.[1] ?? 1;
  return h(
    'section',
    { class: 'card breakdown' },
    h('h2', {}, title),
    rows.length === 0
      ? h('p', { class: 'muted' }, 'Nobody watching.')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, title), h('th', { scope: 'col', class: 'num' }, 'Viewers')),
          ),
          h(
            'tbody',
            {},
            rows.map(([k, v]) =>
              h(
                'tr',
                {},
                h('td', {}, k, h('meter', { min: 0, max, value: v, 'aria-hidden': 'true' })),
                h('td', { class: 'num' }, fmtCount(v)),
              ),
            ),
          ),
        ),
  );
}

export async function livePage(ctx: PageContext): Promise<void> {
  const { main, live } = ctx;
  const now = h('div', { class: 'big-number', 'data-testid': 'viewers-now', 'aria-live': 'polite' }, '–');
  const viewers = timeChart('Viewers', 'count', { height: 180 });
  const bandwidth = timeChart('Bandwidth', 'bps', { height: 180 });
  const groups = h('div', { class: 'grid' });
  const status = h('p', { class: 'muted', role: 'status' });
  ctx.onLeave(() => {
    viewers.destroy();
    bandwidth.destroy();
  });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Live')),
    h(
      'div',
      { class: 'live-top' },
      h('section', { class: 'card now' }, h('h2', {}, 'Watching now'), now),
      h('section', { class: 'card' }, h('h2', {}, 'Viewers, last hour'), viewers.el),
      h('section', { class: 'card' }, h('h2', {}, 'Bandwidth, last hour'), bandwidth.el),
    ),
    status,
    groups,
  );

  let history: StreamPoint[] = [];
  const draw = () => {
    const to = Date.now();
    const range = { from: to - 3_600_000, to };
    viewers.setData(
      history.map((p) => ({ t: p.t, value: p.peak_concurrent })),
      range,
    );
    bandwidth.setData(
      history.map((p) => ({ t: p.t, value: p.bandwidth_bps })),
      range,
    );
  };
  const loadHistory = async () => {
    const to = Date.now();
    try {
      const s = await get<{ points: StreamPoint[] }>(
        `/api/v1/stats/series${qs({ dimension: 'global', from: to - 3_600_000, to, step: 60 })}`,
      );
      history = s.points;
      status.textContent = '';
    } catch (err) {
      status.textContent = `History unavailable: ${(err as Error).message}`;
    }
    draw();
  };
  await loadHistory();
  const timer = setInterval(() => void loadHistory(), 60_000);
  ctx.onLeave(() => clearInterval(timer));

  const stop = live.subscribe('active', (data) => {
    const a = data as ActiveCounts;
    now.textContent = fmtCount(a.total);
    // The current minute follows the live count, so the line moves with the number.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const last = history[history.length - 1];
    if (last && last.t === minute) last.peak_concurrent = Math.max(last.peak_concurrent, a.total);
    else history.push({ t: minute, peak_concurrent: a.total, bandwidth_bps: 0 });
    draw();
    replace(
      groups,
      GROUPS.map(([key, title]) => breakdownTable(title, a[key])),
    );
  });
  ctx.onLeave(stop);
}
