// Maps validated webhook events to play_sessions rows: flat values for the writer thread, and the two
// statements that make (id, event) idempotent and let play_started and play_closed arrive in either order.
import type { PlayEvent } from '../../ingest/index.ts';
import type { PlayEventOutcome } from '../types.ts';

/** Where each value sits in a flat play row, the writer's message for one event (pushPlayRow's order). */
export const PLAY_OFFSET = {
  kind: 0,
  id: 1,
  server: 2,
  channel: 3,
  country: 4,
  protocol: 5,
  device: 6,
  userId: 7,
  userName: 8,
  address: 9,
  userAgent: 10,
  openedAt: 11,
  closedAt: 12,
  bytes: 13,
  reason: 14,
  raw: 15,
  receivedAt: 16,
} as const;
export const PLAY_ROW_WIDTH = Object.keys(PLAY_OFFSET).length;
export const PLAY_STARTED = 0;
export const PLAY_CLOSED = 1;

/** Appends one event's values in PLAY_OFFSET order. */
export function pushPlayRow(out: unknown[], e: PlayEvent, receivedAt: number): void {
  out.push(
    e.event === 'play_started' ? PLAY_STARTED : PLAY_CLOSED,
    e.id,
    e.server,
    e.channel,
    e.country,
    e.protocol,
    e.device,
    e.userId,
    e.userName,
    e.address,
    e.userAgent,
    e.openedAt,
    e.closedAt,
    e.bytes,
    e.reason,
    e.raw,
    receivedAt,
  );
}

const COMMON = 'id, server, channel, country, protocol, device, user_id, user_name, address, user_agent, opened_at';

// A start after its close (out of order) fills in what the start knows and leaves the session closed.
export const INSERT_STARTED_SQL = `INSERT INTO play_sessions (${COMMON}, start_bytes, started_seen, received_at, start_event)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    server = excluded.server, channel = excluded.channel, country = excluded.country, protocol = excluded.protocol,
    device = excluded.device, user_id = excluded.user_id, user_name = excluded.user_name, address = excluded.address,
    user_agent = excluded.user_agent, opened_at = min(excluded.opened_at, coalesce(play_sessions.closed_at, excluded.opened_at)),
    start_bytes = excluded.start_bytes, started_seen = 1, received_at = excluded.received_at, start_event = excluded.start_event
  WHERE play_sessions.started_seen = 0
  RETURNING closed_at`;

// A close without a start still yields one closed session, opened at its opened_at. A close after a stale
// close by m3w replaces m3w's guess with the real end.
export const INSERT_CLOSED_SQL = `INSERT INTO play_sessions (${COMMON}, closed_at, close_bytes, reason, closed_seen, received_at, close_event)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    closed_at = max(excluded.closed_at, play_sessions.opened_at), close_bytes = excluded.close_bytes, reason = excluded.reason,
    closed_seen = 1, received_at = excluded.received_at, close_event = excluded.close_event
  WHERE play_sessions.closed_seen = 0
  RETURNING opened_at`;

// The columns in COMMON, in order, are the play row's values from id to openedAt.
const COMMON_FIRST = PLAY_OFFSET.id;
const COMMON_LAST = PLAY_OFFSET.openedAt;
const COMMON_WIDTH = COMMON_LAST - COMMON_FIRST + 1;

/** Bind values of INSERT_STARTED_SQL and INSERT_NEW_STARTED_SQL: COMMON, start_bytes, received_at, start_event. */
export const STARTED_PARAMS = COMMON_WIDTH + 3;
/** Fills `out` (STARTED_PARAMS long) with the bind values of the play row at `b`. */
export function startedParams(out: unknown[], plays: readonly unknown[], b: number): void {
  let i = 0;
  for (let c = COMMON_FIRST; c <= COMMON_LAST; c++) out[i++] = plays[b + c];
  out[i++] = plays[b + PLAY_OFFSET.bytes]; // start_bytes
  out[i++] = plays[b + PLAY_OFFSET.receivedAt];
  out[i] = plays[b + PLAY_OFFSET.raw]; // start_event
}

/** Bind values of INSERT_CLOSED_SQL: COMMON, closed_at, close_bytes, reason, received_at, close_event. */
export const CLOSED_PARAMS = COMMON_WIDTH + 5;
/** Fills `out` (CLOSED_PARAMS long) with the bind values of the play row at `b`. */
export function closedParams(out: unknown[], plays: readonly unknown[], b: number): void {
  let i = 0;
  for (let c = COMMON_FIRST; c <= PLAY_OFFSET.closedAt; c++) out[i++] = plays[b + c];
  out[i++] = plays[b + PLAY_OFFSET.bytes]; // close_bytes
  out[i++] = plays[b + PLAY_OFFSET.reason];
  out[i++] = plays[b + PLAY_OFFSET.receivedAt];
  out[i] = plays[b + PLAY_OFFSET.raw]; // close_event
}

export const OUTCOME_CODES: readonly PlayEventOutcome[] = ['duplicate', 'opened', 'closed'];

// Fast paths for the usual order (start, then close, each once): plain statements, no RETURNING. When they
// change nothing, the statements above sort out duplicates and out-of-order events.
export const INSERT_NEW_STARTED_SQL = `INSERT INTO play_sessions (${COMMON}, start_bytes, started_seen, received_at, start_event)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

export const CLOSE_OPEN_SQL = `UPDATE play_sessions SET closed_at = max(?, opened_at), close_bytes = ?, reason = ?, closed_seen = 1,
  received_at = ?, close_event = ? WHERE id = ? AND closed_seen = 0`;
