// Moments written for people: "Startup p95 rose from 1.8 s to 5.1 s on CDN edge-a", when and for how long,
// and the links that answer the next question (which sessions failed, which CDN/device/content it was).
import { qs, type Moment } from './api.ts';
import { fmtDuration, fmtTimeShort, formatters } from './format.ts';
import { DIMENSION_LABELS, metricInfo } from './metrics.ts';

export function momentTitle(m: Moment): string {
  const metric = metricInfo(m.metric);
  const fmt = formatters[metric.unit];
  const verb = m.kind === 'spike' ? 'rose' : 'fell';
  return `${metric.label} ${verb} from ${fmt(m.baseline)} to ${fmt(m.peakValue)}${momentWhere(m)}`;
}

export function momentWhere(m: Moment): string {
  if (!m.dimension || m.dimension === 'global') return '';
  return ` on ${DIMENSION_LABELS[m.dimension] ?? m.dimension} ${m.value}`;
}

/** "2/12 14:05 – 14:20 (15 min)". */
export function momentWhen(m: Moment): string {
  return `${fmtTimeShort(m.startedAt)} – ${fmtTimeShort(m.endedAt, m.startedAt)} (${fmtDuration(m.endedAt - m.startedAt)})`;
}

/** A short chip label: "▲ Startup p95 14:05". */
export function momentChip(m: Moment): string {
  return `${m.kind === 'spike' ? '▲' : '▼'} ${metricInfo(m.metric).label}${momentWhere(m)} ${fmtTimeShort(m.startedAt)}`;
}

const SESSION_FILTERS: Record<string, string> = { contentId: 'contentId', deviceModel: 'device' };

/** The sessions of the moment's window that failed (narrowed to its content or device when it was found on one). */
export function failedSessionsHref(m: Moment, app: string): string {
  const narrow = SESSION_FILTERS[m.dimension];
  return `/sessions${qs({ app, range: 'custom', from: m.startedAt, to: m.endedAt, errorsOnly: true, ...(narrow ? { [narrow]: m.value } : {}) })}`;
}

/** The Breakdowns page over the moment's window, by the dimension it was found on (or by CDN). */
export function breakdownHref(m: Moment, app: string): string {
  const dimension = m.dimension && m.dimension !== 'global' && m.dimension !== 'channel' ? m.dimension : 'cdn';
  return `/breakdowns${qs({ app, range: 'custom', from: m.startedAt, to: m.endedAt, dimension })}`;
}

/** Moments the selected app should see: its own and the stream moments that belong to no app. */
export function forApp(moments: Moment[], app: string): Moment[] {
  return moments.filter((m) => m.appId === null || m.appId === app);
}
