// The dimensions play sessions are counted by (live and in rollups), and how a session maps onto them.
// A leaf: the live tracker and the rollup engine both read sessions through these helpers.

export const STREAM_DIMENSIONS = ['server', 'channel', 'country', 'protocol', 'device'] as const;
export type StreamDimension = (typeof STREAM_DIMENSIONS)[number];
/** Every dimension a rollup row may have: the whole service, or one of the session's attributes. */
export const ROLLUP_DIMENSIONS = ['global', ...STREAM_DIMENSIONS] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/** What these helpers read of a play session (the store's PlaySessionFacts has all of it). */
export interface SessionDimensions {
  id: string;
  server: string;
  channel: string;
  country: string;
  protocol: string;
  device: string;
  userId: string | null;
  address: string | null;
}

/** Rollup and live-count value of a session attribute; the empty string (not reported) reads as "unknown". */
export function dimensionValue(s: SessionDimensions, dim: StreamDimension): string {
  return s[dim] || 'unknown';
}

/** The session's value for each of ROLLUP_DIMENSIONS, in that order (global is ''). */
export function rollupValues(
  s: SessionDimensions,
  into: string[] = new Array<string>(ROLLUP_DIMENSIONS.length),
): string[] {
  into[0] = '';
  into[1] = s.server || 'unknown';
  into[2] = s.channel || 'unknown';
  into[3] = s.country || 'unknown';
  into[4] = s.protocol || 'unknown';
  into[5] = s.device || 'unknown';
  return into;
}

/** Who a session's viewer is, for unique_users: the user id, else the address, else the session itself. */
export function viewerKey(s: SessionDimensions): string {
  return s.userId ? `u:${s.userId}` : s.address ? `a:${s.address}` : `s:${s.id}`;
}
