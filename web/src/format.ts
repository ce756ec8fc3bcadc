// Numbers as people read them, always with their unit.
const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e6) return `${nf.format(n / 1e6)}M`;
  if (Math.abs(n) >= 1e4) return `${nf.format(n / 1e3)}k`;
  return nf.format(n);
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  return ms >= 1000 ? `${nf.format(ms / 1000)} s` : `${Math.round(ms)} ms`;
}

export function fmtPct(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return '–';
  return `${p < 10 ? p.toFixed(2) : nf.format(p)} %`;
}

export function fmtBps(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || Number.isNaN(bps)) return '–';
  if (bps >= 1e9) return `${nf.format(bps / 1e9)} Gbit/s`;
  if (bps >= 1e6) return `${nf.format(bps / 1e6)} Mbit/s`;
  if (bps >= 1e3) return `${nf.format(bps / 1e3)} kbit/s`;
  return `${nf.format(bps)} bit/s`;
}

export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return '–';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A length of time as people say it: "45 s", "2 min 5 s", "1 h 20 min", "3 d 4 h". */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const parts = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  if (s < 3600) return parts(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86_400) return parts(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return parts(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}

const sameDay = (a: number, b: number) => new Date(a).toDateString() === new Date(b).toDateString();

/** A short time: "14:05" on the same day as `ref` (today by default), "2 Dec 14:05" otherwise. */
export function fmtTimeShort(ms: number | null | undefined, ref = Date.now()): string {
  if (!ms) return '–';
  const d = new Date(ms);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay(ms, ref) ? time : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

export type Unit = 'count' | 'ms' | 'pct' | 'bps';

/**
 * Labels for an axis's ticks, all in one unit (the one that suits the largest): "0.5 s, 1 s, 1.5 s", never
 * "911 ms" beside "1 s".
 */
export function axisLabels(unit: Unit, ticks: number[]): string[] {
  const max = Math.max(0, ...ticks.map(Math.abs));
  const scaled = (div: number, suffix: string) => ticks.map((v) => `${nf.format(v / div)}${suffix}`);
  if (unit === 'ms') return max >= 1000 ? scaled(1000, ' s') : scaled(1, ' ms');
  if (unit === 'bps')
    return max >= 1e9
      ? scaled(1e9, ' Gbit/s')
      : max >= 1e6
        ? scaled(1e6, ' Mbit/s')
        : max >= 1e3
          ? scaled(1e3, ' kbit/s')
          : scaled(1, ' bit/s');
  if (unit === 'pct') return scaled(1, ' %');
  return max >= 1e6 ? scaled(1e6, 'M') : max >= 1e4 ? scaled(1e3, 'k') : scaled(1, '');
}
const nf2 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/**
 * One formatter for a whole column: the unit follows the column's largest value (as on a chart's axis), so
 * "1 s" never sits beside "911 ms" (that one reads "0.91 s").
 */
export function columnFormatter(
  unit: Unit,
  values: Iterable<number | null | undefined>,
): (n: number | null | undefined) => string {
  let max = 0;
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  const fixed =
    (div: number, suffix: string, f = nf) =>
    (n: number | null | undefined) =>
      n === null || n === undefined || Number.isNaN(n) ? '–' : `${f.format(n / div)} ${suffix}`;
  if (unit === 'ms') return max >= 1000 ? fixed(1000, 's', nf2) : fixed(1, 'ms');
  if (unit === 'bps')
    return max >= 1e9
      ? fixed(1e9, 'Gbit/s', nf2)
      : max >= 1e6
        ? fixed(1e6, 'Mbit/s', nf2)
        : max >= 1e3
          ? fixed(1e3, 'kbit/s', nf2)
          : fixed(1, 'bit/s');
  return formatters[unit];
}

export const formatters: Record<Unit, (n: number | null | undefined) => string> = {
  count: fmtCount,
  ms: fmtMs,
  pct: fmtPct,
  bps: fmtBps,
};
