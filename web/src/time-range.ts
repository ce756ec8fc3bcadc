// The time range picker shared by Overview, Breakdowns, Sessions and Moments: presets and a custom range,
// kept in the URL (?range=1h or ?from=&to=) so a view can be linked and survives a reload, and remembered for the
// tab so that it follows the user from page to page (a page without ?range= shows the last one chosen).
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

const REMEMBERED = 'm3w.range';

export function rangeFromParams(urlParams: URLSearchParams, fallback: Preset = '24h'): TimeRange {
  let params = urlParams;
  try {
    if (urlParams.has('range')) {
      const keep = new URLSearchParams();
      for (const k of ['range', 'from', 'to']) if (urlParams.has(k)) keep.set(k, urlParams.get(k)!);
      sessionStorage.setItem(REMEMBERED, keep.toString());
    } else params = new URLSearchParams(sessionStorage.getItem(REMEMBERED) ?? '');
  } catch {
    // Storage refused (private mode): the range is still in the URL.
  }
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
  const problem = h('p', { class: 'error range-error', role: 'alert', hidden: true });
  apply.addEventListener('click', () => {
    const f = new Date(from.value).getTime();
    const t = new Date(to.value).getTime();
    const message = !(f > 0 && t > 0)
      ? 'Enter both a start and an end.'
      : t <= f
        ? '“From” must be before “To”.'
        : f > Date.now()
          ? '“From” is in the future: there is no data yet.'
          : '';
    problem.textContent = message;
    problem.hidden = !message;
    for (const input of [from, to]) input.setAttribute('aria-invalid', String(Boolean(message)));
    if (!message) onChange({ range: 'custom', from: String(f), to: String(t) });
  });
  const custom = h(
    'details',
    { class: 'custom-range', open: current.preset === 'custom' },
    h('summary', {}, 'Custom'),
    from,
    to,
    apply,
    problem,
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
