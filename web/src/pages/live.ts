// Live: viewers right now (a big number), viewers and bandwidth over the last hour with the viewer moments
// shaded, and who is watching by channel, server, country, protocol and device, all pushed over the live feed
// every ~1.5 s. /live/<channel> is the same for one channel; the channel rows link there.
import {
  get,
  qs,
  type ActiveCounts,
  type ChannelMoments,
  type MomentList,
  type StreamPoint,
  type StreamSeries,
} from '../api.ts';
import { timeChart } from '../chart.ts';
import type { PageContext } from '../context.ts';
import { h, replace } from '../dom.ts';
import { fmtCount } from '../format.ts';

const GROUPS: Array<[Exclude<keyof ActiveCounts, 'total'>, string]> = [
  ['by_channel', 'Channel'],
  ['by_server', 'Server'],
  ['by_country', 'Country'],
  ['by_protocol', 'Protocol'],
  ['by_device', 'Device'],
];

function breakdownTable(
  title: string,
  counts: Record<string, number> | undefined,
  link?: (key: string) => string,
): HTMLElement {
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
                h(
                  'td',
                  {},
                  link ? h('a', { href: link(k) }, k) : k,
                  h('meter', { min: 0, max, value: v, 'aria-hidden': 'true' }),
                ),
                h('td', { class: 'num' }, fmtCount(v)),
              ),
            ),
          ),
        ),
  );
}

export async function livePage(ctx: PageContext): Promise<void> {
  const { main, live } = ctx;
  const channel = ctx.rest || null;
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
    channel ? h('p', {}, h('a', { href: '/live' }, '← All channels')) : null,
    h('div', { class: 'page-head' }, h('h1', {}, channel ? `Live · ${channel}` : 'Live')),
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

  // The hour's minutes, the current one kept up to date from the live counts.
  let history: Array<Pick<StreamPoint, 't' | 'peak_concurrent' | 'bandwidth_bps'>> = [];
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
      const s = await get<StreamSeries>(
        `/api/v1/stats/series${qs({ app: ctx.app, dimension: channel ? 'channel' : 'global', value: channel, from: to - 3_600_000, to, step: 60 })}`,
      );
      history = s.points;
      // The viewer moments of the hour, shaded on the viewers chart.
      const moments = channel
        ? (
            await get<ChannelMoments>(
              `/api/v1/streams/${encodeURIComponent(channel)}/moments${qs({ app: ctx.app, from: to - 3_600_000, to })}`,
            )
          ).moments
        : (await get<MomentList>(`/api/v1/moments${qs({ app: ctx.app, from: to - 3_600_000, to })}`)).moments.filter(
            (m) => m.metric === 'concurrent_viewers' && (m.dimension === 'global' || m.dimension === ''),
          );
      viewers.setMoments(moments.map((m) => ({ from: m.startedAt, to: m.endedAt })));
      status.textContent = '';
    } catch (err) {
      status.textContent = `History unavailable: ${(err as Error).message}`;
    }
    draw();
  };
  await loadHistory();
  const timer = setInterval(() => void loadHistory(), 60_000);
  ctx.onLeave(() => clearInterval(timer));

  const stop = live.subscribe(`active:${ctx.app}`, (data) => {
    const a = data as ActiveCounts;
    // Own keys only: a channel named "constructor" must not read Object.prototype.
    const total = channel
      ? a.by_channel && Object.hasOwn(a.by_channel, channel)
        ? a.by_channel[channel]!
        : 0
      : a.total;
    now.textContent = fmtCount(total);
    // The current minute follows the live count, so the line moves with the number.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const last = history[history.length - 1];
    if (last && last.t === minute) last.peak_concurrent = Math.max(last.peak_concurrent, total);
    else history.push({ t: minute, peak_concurrent: total, bandwidth_bps: 0 });
    draw();
    replace(
      groups,
      // The live counts split only the whole audience, so a channel's page shows its own number and charts.
      GROUPS.filter(() => !channel).map(([key, title]) =>
        breakdownTable(title, a[key], key === 'by_channel' ? (k) => `/live/${encodeURIComponent(k)}` : undefined),
      ),
    );
  });
  ctx.onLeave(stop);
}
