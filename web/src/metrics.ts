// The metrics the dashboard names: a label a person reads, the unit its values are formatted in, and which
// direction is bad news. Shared by the Overview tiles, the Moments page and the moment chips.
import type { Unit } from './format.ts';

export interface Metric {
  id: string;
  label: string;
  unit: Unit;
  /** Whether a rise is bad news (colours the change). */
  higherIsWorse: boolean;
}

export const METRICS: Metric[] = [
  { id: 'sessions', label: 'Sessions', unit: 'count', higherIsWorse: false },
  { id: 'playback_failure_pct', label: 'Playback failures', unit: 'pct', higherIsWorse: true },
  { id: 'startup_p50_ms', label: 'Startup p50', unit: 'ms', higherIsWorse: true },
  { id: 'startup_p95_ms', label: 'Startup p95', unit: 'ms', higherIsWorse: true },
  { id: 'rebuffer_pct', label: 'Rebuffering', unit: 'pct', higherIsWorse: true },
  { id: 'bitrate_mean_bps', label: 'Mean bitrate', unit: 'bps', higherIsWorse: false },
  { id: 'dropped_frames', label: 'Dropped frames', unit: 'count', higherIsWorse: true },
];

const OTHERS: Metric[] = [
  { id: 'concurrent_viewers', label: 'Viewers', unit: 'count', higherIsWorse: false },
  // Watch-party rooms (moments on dimension "room").
  { id: 'chat_messages', label: 'Chat messages per minute', unit: 'count', higherIsWorse: false },
  { id: 'chat_sentiment', label: 'Chat sentiment', unit: 'count', higherIsWorse: false },
];

/** A metric by id; an id the dashboard does not know yet is shown as it is, its unit guessed from its suffix. */
export function metricInfo(id: string): Metric {
  const known = METRICS.find((m) => m.id === id) ?? OTHERS.find((m) => m.id === id);
  if (known) return known;
  const unit: Unit = id.endsWith('_pct') ? 'pct' : id.endsWith('_ms') ? 'ms' : id.endsWith('_bps') ? 'bps' : 'count';
  return { id, label: id.replace(/_/g, ' '), unit, higherIsWorse: true };
}

/** Breakdown dimensions as people call them. */
export const DIMENSION_LABELS: Record<string, string> = {
  room: 'room',
  contentId: 'content',
  cdn: 'CDN',
  deviceModel: 'device',
  os: 'OS',
  country: 'country',
  appVersion: 'app version',
  playerName: 'player',
  streamType: 'stream type',
  channel: 'channel',
  server: 'server',
};
