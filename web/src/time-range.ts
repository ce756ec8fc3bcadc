// The time range picker shared by Overview, Breakdowns, Sessions and Moments: presets and a custom range,
// kept in the URL (?range=1h or ?from=&to=) so a view can be linked and survives a reload.
import { h } from './dom.ts';

export const PRESETS = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const;
export type Preset = keyof typeof PRESETS;

export interface TimeRange {
  from: number;
  to: number;
  preset: Preset | 'custom';
}

export function rangeFromParams(params: URLSearchParams, fallback: Preset = '24h'): TimeRange {
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  if (params.get('range') === 'custom' && from > 0 && to > from) return { from, to, preset: 'custom' };
  const preset = (params.get('range') as Preset | null) ?? fallback;
  const span = PRESETS[preset] ?? PRESETS[fallback];
  const now = Date.now();
  return { from: now - span, to: now, preset: preset in PRESETS ? preset : fallback };
}

/** Live updates make sense where a minute is visible on the chart. */
export function isShortRange(r: TimeRange): boolean {
  return r.preset === '15m' || r.preset === '1h';
}

const toLocalInput = (ms: number) =>
  new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

export function rangePicker(current: TimeRange, onChange: (params: Record<string, string>) => void): HTMLElement {
  const buttons = (Object.keys(PRESETS) as Preset[]).map((p) =>
    h(
      'button',
      {
        type: 'button',
        class: 'seg',
        'aria-pressed': String(current.preset === p),
        onclick: () => onChange({ range: p }),
      },
      p,
    ),
  );
  const from = h('input', { type: 'datetime-local', 'aria-label': 'From', value: toLocalInput(current.from) });
  const to = h('input', { type: 'datetime-local', 'aria-label': 'To', value: toLocalInput(current.to) });
  const apply = h('button', { type: 'button', class: 'secondary' }, 'Apply');
  apply.addEventListener('click', () => {
    const f = new Date(from.value).getTime();
    const t = new Date(to.value).getTime();
    if (f > 0 && t > f) onChange({ range: 'custom', from: String(f), to: String(t) });
  });
  const custom = h(
    'details',
    { class: 'custom-range', open: current.preset === 'custom' },
    h('summary', {}, 'Custom'),
    from,
    to,
    apply,
  );
  return h('div', { class: 'range-picker', role: 'group', 'aria-label': 'Time range' }, buttons, custom);
}

/** The current URL with `changes` applied (range changes drop the custom bounds unless given). */
export function withParams(changes: Record<string, string | null>): string {
  const u = new URL(location.href);
  if ('range' in changes) {
    u.searchParams.delete('from');
    u.searchParams.delete('to');
  }
  for (const [k, v] of Object.entries(changes))
    if (v === null) u.searchParams.delete(k);
    else u.searchParams.set(k, v);
  return u.pathname + u.search;
}
