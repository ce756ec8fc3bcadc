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

export type Unit = 'count' | 'ms' | 'pct' | 'bps';
export const formatters: Record<Unit, (n: number | null | undefined) => string> = {
  count: fmtCount,
  ms: fmtMs,
  pct: fmtPct,
  bps: fmtBps,
};
